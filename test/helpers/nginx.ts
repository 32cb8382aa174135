/** Settings of {@link nginxConfig} that differ between the tests and the benchmark. */
export interface NginxOptions {
  /** Idle keep-alive connections nginx keeps to the upstream servers. */
  readonly keepalive: number;
  /** Parameters appended to each `server` line of the upstream, for example `max_fails=1`. */
  readonly serverParameters?: string;
}

/**
 * Returns an nginx configuration that spreads requests over `upstreamHosts` round-robin on
 * 127.0.0.1:`port`, with the settings docs/deploy.md recommends for berth: no body size limit, no
 * request or response buffering, HTTP/1.1 keep-alive upstream and long timeouts. Every path
 * nginx writes lies in `directory`.
 */
export function nginxConfig(directory: string, port: number, upstreamHosts: readonly string[], options: NginxOptions): string {
  const parameters = options.serverParameters ? ` ${options.serverParameters}` : '';
  const servers = upstreamHosts.map((host) => `    server ${host}${parameters};`).join('\n');
  return `worker_processes 1;
user root;
pid ${directory}/nginx.pid;
error_log ${directory}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${directory}/temp/body;
  proxy_temp_path ${directory}/temp/proxy;
  fastcgi_temp_path ${directory}/temp/fastcgi;
  uwsgi_temp_path ${directory}/temp/uwsgi;
  scgi_temp_path ${directory}/temp/scgi;
  upstream registry {
${servers}
    keepalive ${options.keepalive};
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_connect_timeout 60s;
    proxy_read_timeout 900s;
    proxy_send_timeout 900s;
    location / { proxy_pass http://registry; }
  }
}
`;
}
