import type { ArgumentsHost, ExecutionContext } from '@nestjs/common';
import { nodeResponse, type NodeResponse } from './client-connection';

/** The transports a handler can be called over, as Nest's getType() names them. */
export type Transport = 'http' | 'graphql' | 'ws' | 'rpc';

/** What the transport layer reads off a handler's call. */
export interface HandlerCall {
  transport: Transport;
  /**
   * What `key` and per-call options get as their first argument: the HTTP request (for
   * GraphQL, the one behind its context); elsewhere the handler's first argument.
   */
  request: unknown;
  /** Where RateLimit and Retry-After go: the framework's response, when there is one. */
  response?: unknown;
  /** The Node response: its 'close' tells when the answer is sent or the client left. */
  node?: NodeResponse;
}

/** Reads a call's request and response by index: switchToHttp() makes three closures a call. */
export function handlerCall(host: ArgumentsHost | ExecutionContext): HandlerCall {
  const transport = host.getType<Transport>();
  if (transport === 'http') {
    const response = host.getArgByIndex(1);
    return { transport, request: host.getArgByIndex(0), response, node: nodeResponse(response) };
  }
  if (transport === 'graphql') {
    // Resolver arguments are (root, args, context, info). The context is the app's: @nestjs/apollo's
    // default has only `req`, so the response is Express's `req.res` unless the app's context
    // adds `res` (or, on Fastify, where a request has no link to its reply, `reply`).
    const context = host.getArgByIndex(2) as { req?: { res?: unknown }; res?: unknown; reply?: unknown } | undefined;
    const response = context?.res ?? context?.reply ?? context?.req?.res;
    return { transport, request: context?.req, response, node: nodeResponse(response) };
  }
  return { transport, request: host.getArgByIndex(0) };
}
