import type { ComponentChildren } from 'preact';
import { ApiError } from '../api';
import type { Async } from '../hooks';

/** Explains an API failure in words (never shows made-up data instead). */
export function describeError(error: Error): string {
  if (error instanceof ApiError) {
    const { status, detail, title, errors } = error.problem;
    if (status === 404) return 'This data is not available from the Api yet (404: the endpoint does not exist on this server).';
    if (status === 403) return 'Your key is not allowed to see this (403).';
    if (status === 401) return 'Your key is no longer accepted (401): sign in again.';
    const fields = errors?.length ? ` (${errors.map((e) => `${e.name}: ${e.reason}`).join('; ')})` : '';
    return `The Api answered ${status}: ${detail ?? title ?? 'error'}${fields}`;
  }
  return `Could not reach the Api: ${error.message}`;
}

export function ErrorNote({ error }: { error: Error }) {
  return <p role="alert" class="error">{describeError(error)}</p>;
}

/** A titled panel that shows a skeleton while loading, a readable error, an empty state, or its content. */
export function Widget<T>({ title, state, empty, isEmpty, children, wide, testId }: {
  title: string;
  state: Async<T>;
  empty?: string;
  isEmpty?: (data: T) => boolean;
  children: (data: T) => ComponentChildren;
  wide?: boolean;
  testId?: string;
}) {
  let body: ComponentChildren;
  if (state.data === null && state.loading) body = <div class="skeleton" aria-busy="true" aria-label={`Loading ${title}`} />;
  else if (state.data === null && state.error) body = <ErrorNote error={state.error} />;
  else if (state.data !== null && isEmpty?.(state.data)) body = <p class="empty">{empty ?? 'No usage data for this period'}</p>;
  else if (state.data !== null) body = children(state.data);
  return (
    <section class={`card widget${wide ? ' wide' : ''}`} aria-label={title} data-testid={testId}>
      <h2>{title}</h2>
      {state.data !== null && state.error && <ErrorNote error={state.error} />}
      {body}
    </section>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warning' | 'critical' | 'none'; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}
