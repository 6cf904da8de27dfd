import { ServerResponse } from 'node:http';
import { HttpException } from '@nestjs/common';
import { CLIENT_GONE } from '../limiters.messages';
import type { Release } from '../pipeline/admission-outcome';
import type { GiveUp } from '../pipeline/limited-call';

/**
 * What a semaphore slot of an HTTP request follows besides the handler: the response.
 * Its 'close' comes once the answer is sent, or as soon as the client goes away.
 */
export interface NodeResponse {
  readonly closed: boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** The Node response: Express's `res` itself, Fastify's `reply.raw`; undefined for anything else. */
export function nodeResponse(response: unknown): NodeResponse | undefined {
  // Express's response is a ServerResponse: asking it for `raw` first would look through
  // its whole prototype chain for nothing, on every request.
  if (response instanceof ServerResponse) return response;
  const candidate = (response as { raw?: unknown } | undefined)?.raw ?? response;
  const node = candidate as Partial<NodeResponse> | undefined;
  return typeof node?.once === 'function' && typeof node.off === 'function' && typeof node.closed === 'boolean'
    ? (node as NodeResponse)
    : undefined;
}

/** 499, nginx's "client closed request": nobody reads it, Nest logs no error for it. */
function clientGone(): HttpException {
  return new HttpException(CLIENT_GONE, 499);
}

/**
 * Gives up the request's wait (for a slot, or the sleep until its tokens) when the client
 * goes away: an abandoned request would otherwise take a slot, and run its handler, for
 * nobody. Returns what stops watching once the wait is over.
 */
export function giveUpWhenClientLeaves(response: NodeResponse, giveUp: GiveUp): () => void {
  const leave = () => giveUp.abort(clientGone());
  if (response.closed) leave();
  else response.once('close', leave);
  return () => response.off('close', leave);
}

/**
 * Holds a request's slot until its answer is sent as well as until its handler is done.
 * A handler returning a StreamableFile (or anything Nest writes afterwards) is done long
 * before the client has its last byte: releasing then would let a second download start
 * while the first is still being sent. A client that left while its handler runs keeps
 * the slot taken until the handler is done. The returned release is the handler side's.
 */
export function releaseWhenSent(release: Release, response: NodeResponse): Release {
  if (response.closed) return release;
  let handlerDone = false;
  let sent = false;
  response.once('close', () => {
    sent = true;
    if (handlerDone) release();
  });
  return () => {
    if (handlerDone) return;
    handlerDone = true;
    if (sent) release();
  };
}
