// The landing page's own script, run in the browser: an external file, so the page's CSP needs no
// 'unsafe-inline' for scripts. It starts GraphiQL on the page's URL with a storage that keeps headers (a
// token) out of localStorage.

const defaultQuery = `# GraphiQL, served by this geofed gateway: nothing on this page comes from elsewhere.
#
# Public data needs no token. For a tenant's personal data, put a token in the
# Headers tab below: {"authorization": "Bearer <npx geofed token --tenant acme>"}

{
  __typename
}
`;

export const landingPageScript = `(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  // The page is served at the GraphQL endpoint itself: operations go to the same origin and path.
  var endpoint = window.location.origin + window.location.pathname;
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  // GraphiQL keeps tabs and history in localStorage. shouldPersistHeaders: false keeps headers (a token) out of
  // the tabs, but its history and favourites store each operation's headers anyway: this storage drops them.
  var prefix = 'graphiql:';
  var withoutHeaders = function (key, value) {
    if (key !== prefix + 'queries' && key !== prefix + 'favorites') return value;
    try {
      var parsed = JSON.parse(value);
      (parsed.queries || []).forEach(function (entry) { delete entry.headers; });
      return JSON.stringify(parsed);
    } catch (error) {
      return null;
    }
  };
  var keys = function () {
    var found = [];
    for (var i = 0; i < window.localStorage.length; i += 1) {
      var key = window.localStorage.key(i);
      if (key !== null && key.indexOf(prefix) === 0) found.push(key);
    }
    return found;
  };
  var storage = {
    getItem: function (key) { return window.localStorage.getItem(key); },
    setItem: function (key, value) {
      var kept = withoutHeaders(key, value);
      if (kept === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, kept);
    },
    removeItem: function (key) { window.localStorage.removeItem(key); },
    clear: function () { keys().forEach(function (key) { window.localStorage.removeItem(key); }); },
    get length() { return keys().length; }
  };
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      shouldPersistHeaders: false,
      defaultQuery: ${JSON.stringify(defaultQuery)},
      defaultEditorToolsVisibility: true
    })
  );
})();
`;

