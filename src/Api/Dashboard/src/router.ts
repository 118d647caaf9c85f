import { useEffect, useState } from 'preact/hooks';

// Hash routes (#/usage?period=7d&model=a): every view and filter is a shareable link, with no server routing.

export interface Route { path: string; params: URLSearchParams }

function parse(): Route {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?', 2);
  return { path: path || '/', params: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const changed = () => setRoute(parse());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export function href(path: string, params?: URLSearchParams): string {
  const query = params?.toString();
  return `#${path}${query ? `?${query}` : ''}`;
}

export function navigate(path: string, params?: URLSearchParams): void {
  const next = href(path, params);
  if (location.hash !== next) location.hash = next;
}
