/**
 * A small HTTP/1.1 client for the registry API, on node:http with keep-alive connections.
 * Every request names the statuses it expects, and any other status raises an error that
 * shows the request and the response, so a failed workload reports what the registry sent.
 */
import http from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';

/** A response with its body, or only the body's length when the body was discarded. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, empty when the request set `discardBody`. */
  body: Buffer;
  /** Length of the body received, in bytes. */
  bodyBytes: number;
}

/** Options of one request. */
export interface RequestOptions {
  /** Statuses that count as success; any other raises HttpStatusError. */
  expect: readonly number[];
  headers?: OutgoingHttpHeaders;
  /** A stream body needs a Content-Length header, else Node sends it chunked. */
  body?: Buffer | string | Readable;
  /** Counts the response body's bytes without keeping them. */
  discardBody?: boolean;
  /** Receives each chunk of the response body as it arrives. */
  onBodyChunk?: (chunk: Buffer) => void;
  /** Time limit of the whole request, in milliseconds (default 600000). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 600_000;
const BODY_EXCERPT_CHARS = 2000;

/** Raised when a registry returns a status that the request did not expect. */
export class HttpStatusError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly requestHeaders: OutgoingHttpHeaders,
    readonly response: HttpResponse,
    readonly expected: readonly number[],
  ) {
    super(
      [
        `${method} ${url} returned HTTP ${response.status}, expected ${expected.join(' or ')}`,
        `request headers: ${JSON.stringify(requestHeaders)}`,
        `response headers: ${JSON.stringify(response.headers)}`,
        `response body: ${response.body.toString('utf8').slice(0, BODY_EXCERPT_CHARS)}`,
      ].join('\n'),
    );
  }
}

/** HTTP client bound to one registry's base URL, with its own pool of keep-alive connections. */
export class RegistryClient {
  private readonly agent: http.Agent;

  /** `baseUrl` is `http://HOST:PORT`; `maxSockets` caps concurrent connections. */
  constructor(
    readonly baseUrl: string,
    maxSockets = 64,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  /** Resolves a path or a Location header value against the base URL. */
  resolve(pathOrUrl: string): URL {
    return new URL(pathOrUrl, this.baseUrl);
  }

  /** Sends one request and returns the response once its body has ended. */
  async request(method: string, pathOrUrl: string | URL, options: RequestOptions): Promise<HttpResponse> {
    const url = typeof pathOrUrl === 'string' ? this.resolve(pathOrUrl) : pathOrUrl;
    const headers: OutgoingHttpHeaders = { ...options.headers };
    if (options.body === undefined) {
      headers['Content-Length'] ??= 0;
    } else if (!(options.body instanceof Readable)) {
      headers['Content-Length'] = Buffer.byteLength(options.body);
    }
    const response = await this.send(method, url, headers, options);
    if (!options.expect.includes(response.status)) {
      throw new HttpStatusError(method, url.toString(), headers, response, options.expect);
    }
    return response;
  }

  /** Closes the idle connections of the pool. */
  close(): void {
    this.agent.destroy();
  }

  private send(method: string, url: URL, headers: OutgoingHttpHeaders, options: RequestOptions): Promise<HttpResponse> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      let responded = false;
      const request = http.request(url, { method, headers, agent: this.agent });
      const fail = (error: Error): void => {
        reject(new Error(`${method} ${url.toString()} failed: ${error.message}`, { cause: error }));
      };
      request.setTimeout(timeoutMs, () => {
        request.destroy(new Error(`no response within ${timeoutMs} ms`));
      });
      request.on('error', (error) => {
        // A server may respond and close before the whole body was sent (an early 4xx),
        // which makes writing fail. The response then explains more than the write error.
        if (!responded) {
          fail(error);
        }
      });
      request.on('response', (response) => {
        responded = true;
        const chunks: Buffer[] = [];
        let bodyBytes = 0;
        response.on('data', (chunk: Buffer) => {
          bodyBytes += chunk.length;
          options.onBodyChunk?.(chunk);
          if (options.discardBody !== true) {
            chunks.push(chunk);
          }
        });
        response.on('error', fail);
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), bodyBytes });
        });
      });

      const body = options.body;
      if (body instanceof Readable) {
        body.on('error', (error) => request.destroy(error));
        body.pipe(request);
      } else {
        request.end(body);
      }
    });
  }
}

/** Returns the value of a response header that must be present, or throws naming the request. */
export function requiredHeader(response: HttpResponse, name: string, requestLabel: string): string {
  const value = response.headers[name.toLowerCase()];
  if (typeof value !== 'string' || value === '') {
    throw new Error(`${requestLabel}: response has no ${name} header (HTTP ${response.status}, headers ${JSON.stringify(response.headers)})`);
  }
  return value;
}
