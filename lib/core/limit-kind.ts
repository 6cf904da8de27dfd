/**
 * The kinds of limit, spelled one way everywhere: metadata, injection tokens, Redis keys,
 * events, metrics and messages.
 */
export type LimitKind = 'semaphore' | 'token-bucket' | 'fixed-window' | 'sliding-window';
