// A page's view kept in the query string: `set(patch)` pushes a history entry, the back
// and forward buttons restore the view they recorded.

// read(search) -> state; search(state) -> "?..." or ""; merge(state, patch) -> state;
// onChange(state, previous) is called after every change.
export function urlState({ read, search, merge, onChange }) {
  let state = read(window.location.search);
  const here = () => window.location.pathname + window.location.search;
  window.addEventListener("popstate", () => {
    const previous = state;
    state = read(window.location.search);
    onChange(state, previous);
  });
  return {
    get: () => state,
    set(patch) {
      const previous = state;
      state = merge(state, patch);
      const url = window.location.pathname + search(state);
      if (url !== here()) window.history.pushState(null, "", url);
      onChange(state, previous);
    }
  };
}
