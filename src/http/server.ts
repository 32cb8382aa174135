import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { BackendUnavailableError, RegistryError, errorBody } from '../errors.js';
import type { RequestContext, Services } from './context.js';
import { matchRoute } from './router.js';
import { routes } from './routes.js';

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Creates the HTTP server of the registry API. Every response carries the
 * `Docker-Distribution-API-Version` header; every error leaves as an OCI error body; each
 * request produces one completion log line.
 */
export function createHttpServer(services: Services, log: Logger): Server {
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    void handleRequest(services, log, req, res);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Only the code and message: the error object also carries the raw request bytes, headers included.
    log.debug({ code: error.code, reason: error.message }, 'malformed http request');
    if (!socket.writable) return;
    const body = errorBody(new RegistryError('REQUEST_INVALID', `malformed HTTP request (${error.code ?? 'parse error'}): check the request line and headers`));
    socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
  return server;
}

async function handleRequest(services: Services, log: Logger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const incomingId = req.headers['x-request-id'];
  const requestId = typeof incomingId === 'string' && requestIdPattern.test(incomingId) ? incomingId : randomUUID();
  const url = req.url ?? '/';
  const queryStart = url.indexOf('?');
  const path = queryStart === -1 ? url : url.slice(0, queryStart);
  const requestLog = log.child({ reqId: requestId });
  res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
  res.setHeader('X-Request-Id', requestId);

  const method = req.method ?? 'GET';
  // 'close' fires once per response, whether it finished or the client went away, so every
  // request gets exactly one completion line.
  res.once('close', () => {
    requestLog.info(
      {
        method,
        path,
        // A response cut before its headers went out has no status the client saw.
        status: res.headersSent ? res.statusCode : null,
        bytes: Number(res.getHeader('content-length') ?? 0),
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        ...(res.writableFinished ? {} : { aborted: true }),
      },
      'request completed',
    );
  });

  const match = matchRoute(routes, method, path);
  try {
    if (match.kind === 'not-found') {
      throw new RegistryError('NOT_FOUND', `no endpoint at ${path.slice(0, 200)}: see the OCI distribution-spec for the /v2/ API`);
    }
    if (match.kind === 'method-not-allowed') {
      throw new RegistryError('UNSUPPORTED', `method ${method} is not allowed on ${path.slice(0, 200)}: use ${match.allowed.join(', ')}`, {
        status: 405,
        headers: { Allow: match.allowed.join(', ') },
      });
    }
    const ctx: RequestContext = {
      req,
      res,
      path,
      query: new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1)),
      params: match.params,
      log: requestLog,
      services,
    };
    await match.route.handler(ctx);
  } catch (error) {
    sendError(requestLog, req, res, error);
  }
}

function sendError(log: Logger, req: IncomingMessage, res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    // The status line is gone, usually because the client closed the connection during the body:
    // the only signal left is a cut connection.
    log.debug({ err: error }, 'response body interrupted');
    res.destroy();
    return;
  }
  const registryError = toRegistryError(error, req);
  if (registryError.status >= 500) log.error({ err: error }, 'request failed');
  else log.debug({ code: registryError.code, message: registryError.message }, 'request rejected');
  const body = Buffer.from(errorBody(registryError));
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': body.byteLength, ...registryError.headers };
  if (!req.complete) headers.Connection = 'close';
  res.writeHead(registryError.status, headers);
  res.end(body);
}

/** Maps any thrown value to a catalog error; unknown failures become INTERNAL without their details. */
function toRegistryError(error: unknown, req: IncomingMessage): RegistryError {
  if (error instanceof RegistryError) return error;
  if (error instanceof BackendUnavailableError) {
    return new RegistryError('UNAVAILABLE', `${error.message}: retry later`, { headers: { 'Retry-After': '5' } });
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (!req.complete && (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'ERR_STREAM_DESTROYED')) {
    return new RegistryError('BLOB_UPLOAD_INVALID', 'the request body ended before it was complete: the partial data was discarded, send it again');
  }
  return new RegistryError('INTERNAL', 'internal server error: the failure was logged with this request id');
}
