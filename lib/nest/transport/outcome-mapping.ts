import { HttpStatus } from '@nestjs/common';
import { MaxSleepExceededError, RedisUnavailableError } from '../../core/errors';
import type { LeftFields, LimitKindDescriptor, PolicyFields } from '../kinds/limit-kind.descriptor';
import { kindOf, LIMIT_KINDS } from '../kinds/limit-kinds';
import type { LimitersHttpOptions } from '../limiters-options.interface';
import { refusalMessage } from '../limiters.messages';
import { withoutUndefined } from '../without-undefined';
import type { Admitted, Entered, Refusal } from '../pipeline/admission-outcome';
import { LimitExceededException, type RefusedLimit } from './limit-exceeded.exception';

/**
 * What a semaphore slot of an HTTP request follows besides the handler: the response.
 * Its 'close' comes once the answer is sent, or as soon as the client goes away.
 */
export interface NodeResponse {
  readonly closed: boolean;
  /** The HTTP status code answered (or to be answered): what refundWhen is told. */
  readonly statusCode?: number;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

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

/** What the transport layer is configured with (LimitersModuleOptions.http, resolved). */
export type HttpAnswerOptions = Required<Omit<LimitersHttpOptions, 'exceptionFactory'>> &
  Pick<LimitersHttpOptions, 'exceptionFactory'>;

/**
 * The one place an outcome of the pipeline becomes a transport's answer: RateLimit fields
 * of admitted HTTP calls, and for refused calls an HTTP exception (429/503 with Retry-After),
 * a GraphQL error (extensions.code TOO_MANY_REQUESTS / SERVICE_UNAVAILABLE, retryAfter in
 * seconds), a WsException or an RpcException carrying the same fields. Answers name the
 * declared limit, never the caller's key.
 */
export function writeAdmittedFields(call: HandlerCall, admitted: Admitted, http: HttpAnswerOptions): void {
  const response = fieldsTarget(call, http);
  if (!response) return;
  for (const entered of admitted.entered) writeFields(response, entered);
}

/** The answer to throw for a handler call the pipeline refused, with its fields written where they go. */
export function refusalAnswer(call: HandlerCall, refusal: Refusal, http: HttpAnswerOptions): unknown {
  const response = fieldsTarget(call, http);
  const type = refusal.limit.type;
  if (response) {
    for (const entered of refusal.entered) writeFields(response, entered);
    for (const { limit, limiter } of refusal.phase) {
      appendToListHeader(response, RATELIMIT_POLICY, policyMember(limit.name, limit.type.policy(limiter)));
    }
    const retryAfterMs = refusal.retryAfterMs;
    if (retryAfterMs !== undefined)
      appendToListHeader(response, RATELIMIT, limitMember(refusal.limit.name, { remaining: 0, nextMs: retryAfterMs }));
  }
  return answer(call, describe(refusal.limit.name, type, refusal.error), refusal.error, http);
}

/**
 * The answer for a limiter error that reached a handler from a service method it called
 * (see LimitsExceptionFilter); undefined for any other error.
 */
export function limiterErrorAnswer(call: HandlerCall, error: unknown, http: HttpAnswerOptions): unknown {
  if (!(error instanceof MaxSleepExceededError) && !(error instanceof RedisUnavailableError)) return undefined;
  return answer(call, describe(error.limiter, kindOfError(error), error), error, http);
}

/**
 * The kind of a limiter's error. One the app made itself may carry none: a known wait
 * tells a kind that knows its retry time (a rate), none a kind that does not (a slot).
 */
function kindOfError(error: MaxSleepExceededError | RedisUnavailableError): LimitKindDescriptor {
  if (error.kind !== undefined) return kindOf(error.kind);
  const knowsWait = error instanceof MaxSleepExceededError && error.wouldWait !== undefined;
  return LIMIT_KINDS.find((type) => type.knowsRetryAfter === knowsWait) ?? LIMIT_KINDS[0];
}

interface Refused {
  refused: RefusedLimit;
  type: LimitKindDescriptor;
}

function describe(
  limit: string,
  type: LimitKindDescriptor,
  error: MaxSleepExceededError | RedisUnavailableError,
): Refused {
  const kind = type.kind;
  if (!(error instanceof MaxSleepExceededError)) return { refused: { limit, kind, reason: 'redis-unavailable' }, type };
  const retryAfterMs = type.knowsRetryAfter ? error.wouldWait : undefined;
  return { refused: { limit, kind, reason: 'limit', retryAfterMs }, type };
}

function answer(call: HandlerCall, { refused, type }: Refused, cause: Error, http: HttpAnswerOptions): unknown {
  const message = refusalMessage(refused, type.words);
  const retryAfter = refused.retryAfterMs === undefined ? undefined : seconds(refused.retryAfterMs);
  if (retryAfter !== undefined && call.response && http.headers)
    setHeader(call.response, RETRY_AFTER, String(retryAfter));
  const code = refused.reason === 'limit' ? 'TOO_MANY_REQUESTS' : 'SERVICE_UNAVAILABLE';
  const extensions = { code, limit: refused.limit, kind: refused.kind, retryAfter };
  const fields = { message, ...extensions };
  switch (call.transport) {
    case 'http': {
      if (http.exceptionFactory) return http.exceptionFactory(refused);
      const status = statusOf(refused, type, http);
      return new LimitExceededException(
        refused,
        status,
        { statusCode: status, error: statusText(status), message },
        cause,
      );
    }
    case 'graphql': {
      const { GraphQLError } = optional<typeof import('graphql')>('graphql') ?? {};
      // With no response to write to (Fastify's default context has no reply), Retry-After
      // goes through Apollo Server, which sets the headers of an error's `http` extension
      // on the HTTP answer and leaves the extension out of the body. Only where Apollo
      // Server is installed: another server would print the extension.
      const viaApollo =
        retryAfter !== undefined && !call.response && http.headers && optional('@apollo/server') !== undefined;
      const head = viaApollo ? { http: { headers: new Map([[RETRY_AFTER.toLowerCase(), String(retryAfter)]]) } } : {};
      return GraphQLError
        ? new GraphQLError(message, { extensions: { ...withoutUndefined(extensions), ...head } })
        : cause;
    }
    case 'ws': {
      const { WsException } = optional<typeof import('@nestjs/websockets')>('@nestjs/websockets') ?? {};
      return WsException ? new WsException(withoutUndefined({ status: 'error', ...fields })) : cause;
    }
    case 'rpc': {
      const { RpcException } = optional<typeof import('@nestjs/microservices')>('@nestjs/microservices') ?? {};
      return RpcException ? new RpcException(withoutUndefined({ status: 'error', ...fields })) : cause;
    }
    default:
      return cause;
  }
}

function statusOf(refused: RefusedLimit, type: LimitKindDescriptor, http: HttpAnswerOptions): number {
  if (refused.reason === 'redis-unavailable') return HttpStatus.SERVICE_UNAVAILABLE;
  return (http as unknown as Record<string, number>)[type.words.statusOption];
}

/** An entered limit's policy, and what its kind says of the call (a rate's RateLimit member). */
function writeFields(response: unknown, { limit, limiter, grant }: Entered): void {
  const type = limit.type;
  appendToListHeader(response, RATELIMIT_POLICY, policyMember(limit.name, type.policy(limiter)));
  if (grant === undefined || !type.left) return;
  appendToListHeader(response, RATELIMIT, limitMember(limit.name, type.left(limiter, grant)));
}

function fieldsTarget(call: HandlerCall, http: HttpAnswerOptions): unknown {
  return http.headers ? call.response : undefined;
}

const loaded = new Map<string, unknown>();

/** A transport's package, from the app's own dependencies: only apps that use the transport have it. */
function optional<T>(name: string): T | undefined {
  if (!loaded.has(name)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, and only if installed
      loaded.set(name, require(name));
    } catch {
      loaded.set(name, undefined);
    }
  }
  return loaded.get(name) as T | undefined;
}

function statusText(status: number): string {
  if (status === HttpStatus.TOO_MANY_REQUESTS) return 'Too Many Requests';
  const name = HttpStatus[status] as string | undefined;
  return name
    ? name.toLowerCase().replace(/(^|_)(\w)/g, (_, gap: string, c: string) => (gap ? ' ' : '') + c.toUpperCase())
    : 'Error';
}

// RateLimit fields (draft-ietf-httpapi-ratelimit-headers) and the headers they go in.

/**
 * Members of the RateLimit-Policy and RateLimit header fields of
 * draft-ietf-httpapi-ratelimit-headers (-11): Structured Field lists whose items are a
 * policy name as an sf-string, with integer parameters in whole seconds.
 *   RateLimit-Policy: "api";q=100;w=60      100 requests, the quota is whole again within 60 s
 *   RateLimit: "api";r=42;t=1               42 left; no more than that in the next 1 s
 * The policy is the limiter's base name, never the caller's key: keys are often secrets.
 * Each kind says what its members hold (kinds/); this file writes them.
 */
export const RATELIMIT_POLICY = 'RateLimit-Policy';
export const RATELIMIT = 'RateLimit';
export const RETRY_AFTER = 'Retry-After';

/**
 * q per w, so a client that spends no more than q per w never waits; q alone for a window
 * of no fixed length (a calendar month: the draft's w is optional); or q in a unit with no
 * window (a semaphore's "concurrent-requests").
 */
export function policyMember(policy: string, fields: PolicyFields): string {
  const quota = `${sfString(policy)};q=${fields.quota}`;
  if ('unit' in fields) return `${quota};qu="${fields.unit}"`;
  return fields.windowMs === undefined ? quota : `${quota};w=${Math.max(1, seconds(fields.windowMs))}`;
}

/**
 * r left now; t seconds until more than that can be had. That is the draft's "effective
 * window": until then the client can use no more than r.
 */
export function limitMember(policy: string, { remaining, nextMs }: LeftFields): string {
  return `${sfString(policy)};r=${Math.max(0, Math.floor(remaining))};t=${seconds(nextMs)}`;
}

/** Whole seconds, rounded up: a client told to come back sooner would be refused again. */
export function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1_000));
}

/** An sf-string allows printable ASCII only, with `"` and `\` escaped (RFC 9651 section 3.3.3). */
function sfString(text: string): string {
  // Names rarely need either change: one test spares every request two replacements.
  if (!/[^\x20\x21\x23-\x5b\x5d-\x7e]/.test(text)) return `"${text}"`;
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return `"${printable.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The few response methods the HTTP layer needs. Express's response has setHeader and
 * getHeader; Fastify's reply has header and getHeader. One helper covers both, so no
 * code is copied per adapter.
 */
interface HeaderTarget {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
  getHeader?(name: string): unknown;
}

export function setHeader(response: unknown, name: string, value: string): void {
  const target = response as HeaderTarget;
  if (typeof target.setHeader === 'function') target.setHeader(name, value);
  else if (typeof target.header === 'function') target.header(name, value);
}

/** Adds a member to a Structured Fields list header, keeping members set earlier for the same response. */
export function appendToListHeader(response: unknown, name: string, member: string): void {
  const existing = (response as HeaderTarget).getHeader?.(name);
  // Usually the first member: then there is nothing to split, compare or join.
  if (typeof existing !== 'string' || existing === '') return setHeader(response, name, member);
  const earlier = existing.split(/,\s*/);
  if (!earlier.includes(member)) setHeader(response, name, [...earlier, member].join(', '));
}
