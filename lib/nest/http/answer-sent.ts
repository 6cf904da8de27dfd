import type { Release } from '../limit-gate';

/** The Node response: Express's `res` itself, Fastify's `reply.raw`. */
interface NodeResponse {
  readonly closed: boolean;
  once(event: 'close', listener: () => void): unknown;
}

function nodeResponse(response: unknown): NodeResponse | undefined {
  const candidate = (response as { raw?: unknown } | undefined)?.raw ?? response;
  const node = candidate as Partial<NodeResponse> | undefined;
  return typeof node?.once === 'function' && typeof node.closed === 'boolean' ? (node as NodeResponse) : undefined;
}

/**
 * Holds a request's slot until its answer is sent as well as until its handler is done.
 * A handler returning a StreamableFile (or anything Nest writes afterwards) is done long
 * before the client has its last byte: releasing then would let a second download start
 * while the first is still being sent. The response's 'close' comes once it is sent, or
 * once the client went away. The returned release is what the handler side calls.
 */
export function releaseWhenSent(release: Release, response: unknown): Release {
  const node = nodeResponse(response);
  // Not a Node response, or the client left while the request waited for its slot.
  if (!node || node.closed) return release;
  let handlerDone = false;
  let sent = false;
  node.once('close', () => {
    sent = true;
    if (handlerDone) release();
  });
  return () => {
    if (handlerDone) return;
    handlerDone = true;
    if (sent) release();
  };
}
