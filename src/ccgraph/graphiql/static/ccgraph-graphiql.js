// ccgraph's GraphiQL: React, ReactDOM and GraphiQL are ccgraph's own copies (see
// ccgraph/graphiql/assets.json), and this file starts GraphiQL with ccgraph's walkthrough.
// It is a file, not an inline script, so that the page's Content-Security-Policy can say
// script-src 'self' and nothing more.
(function () {
  "use strict";

  var root = document.getElementById("graphiql");
  // GraphiQL's dialogs add a <style> element; it carries this response's nonce, which the
  // page's style-src allows (webpack's convention, which GraphiQL's bundle follows).
  if (root.dataset.styleNonce) {
    window.__webpack_nonce__ = root.dataset.styleNonce;
  }

  // The page's tabs live as long as the browser tab (sessionStorage), never in localStorage.
  // Headers (the Bearer token) are kept nowhere: shouldPersistHeaders is false, and since
  // GraphiQL's history and tabs keep each run's headers and answer (a sign-in's token among
  // them) whatever that option says, those are dropped on the way to the storage.
  var backing;
  try {
    backing = window.sessionStorage;
  } catch (_blocked) {
    backing = memoryStorage(); // sessionStorage refused (a sandbox): keep nothing at all
  }
  var storage = withoutSecrets(backing);

  var walkthrough = document.getElementById("ccgraph-walkthrough").textContent.replace(/^\s+/, "");
  var endpoint = window.location.href.split(/[?#]/)[0];
  // Subscriptions run over WebSocket at the same path (graphql-transport-ws); GraphiQL signs
  // the socket in with the Headers tab, sent as connection_init's payload ({"Authorization": ...}).
  var subscriptionUrl = endpoint.replace(/^http/, "ws");

  var graphiql = React.createElement(
    GraphiQL,
    {
      fetcher: GraphiQL.createFetcher({ url: endpoint, subscriptionUrl: subscriptionUrl }),
      defaultQuery: walkthrough,
      defaultHeaders: '{\n  "Authorization": ""\n}',
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      storage: storage,
      inputValueDeprecation: true,
    },
    React.createElement(GraphiQL.Logo, null, "ccgraph")
  );
  ReactDOM.createRoot(root).render(graphiql);

  function withoutSecrets(store) {
    var scrubbed = /^graphiql:(queries|favorites|tabState)$/;
    function scrub(value) {
      try {
        return JSON.stringify(JSON.parse(value), function (key, item) {
          return key === "headers" || key === "response" ? undefined : item;
        });
      } catch (_notJson) {
        return value;
      }
    }
    return {
      getItem: function (key) {
        return store.getItem(key);
      },
      setItem: function (key, value) {
        store.setItem(key, scrubbed.test(key) ? scrub(value) : value);
      },
      removeItem: function (key) {
        store.removeItem(key);
      },
      clear: function () {
        store.clear();
      },
      get length() {
        return store.length;
      },
    };
  }

  function memoryStorage() {
    var items = {};
    return {
      getItem: function (key) {
        return Object.prototype.hasOwnProperty.call(items, key) ? items[key] : null;
      },
      setItem: function (key, value) {
        items[key] = String(value);
      },
      removeItem: function (key) {
        delete items[key];
      },
      clear: function () {
        items = {};
      },
      get length() {
        return Object.keys(items).length;
      },
    };
  }
})();
