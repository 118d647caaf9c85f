import { useEffect, useRef, useState } from 'preact/hooks';

export interface Async<T> { data: T | null; error: Error | null; loading: boolean }

/**
 * Runs `load` when `deps` change (showing loading) and again, quietly, when `refresh` changes (live updates keep the
 * old data on screen until the new data arrives). A late answer to an earlier request never overwrites a newer one.
 */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[], refresh = 0): Async<T> {
  const [state, setState] = useState<Async<T>>({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const depsKey = JSON.stringify(deps);
  const lastDeps = useRef<string | null>(null);

  useEffect(() => {
    const mine = ++generation.current;
    const quiet = lastDeps.current === depsKey;
    lastDeps.current = depsKey;
    if (!quiet) setState({ data: null, error: null, loading: true });
    load().then(
      (data) => { if (mine === generation.current) setState({ data, error: null, loading: false }); },
      (error: Error) => { if (mine === generation.current) setState((s) => ({ data: quiet ? s.data : null, error, loading: false })); },
    );
  }, [depsKey, refresh]);

  return state;
}
