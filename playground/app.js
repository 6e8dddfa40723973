// portal-gateway playground: GraphiQL 3 (UMD) + a demo persona switcher.
//
// Served as /playground/app.js and loaded with `defer` after React 18,
// ReactDOM 18 and GraphiQL's UMD bundles, which define the globals
// `React`, `ReactDOM` and `GraphiQL`. No inline script, no eval, no
// third-party origin: the page works under a `script-src 'self'` CSP.
(function () {
  'use strict';

  var GRAPHQL_URL = '/graphql';
  var PERSONAS_URL = '/dev/personas';
  var STORAGE_KEY = 'portal-gateway:persona';

  var DEFAULT_QUERY = [
    '# portal-gateway playground',
    '#',
    '# Queries run as the persona picked in the top bar; switch personas and run',
    '# again: the same query shows each one what their roles let them see',
    '# (hidden fields are null, a refused root field is null with FORBIDDEN).',
    '# Run with \u25B6 or Ctrl+Enter.',
    '',
    'query Dashboard {',
    '  viewer { name kind grants { module fields relations } }',
    '  accounts(first: 3) { totalCount nodes { name industry } }',
    '  invoices(first: 5) { nodes { number kind status total currency } }',
    '  projects(first: 10) {',
    '    totalCount',
    '    nodes {',
    '      name',
    '      status',
    '      progress',
    '      budget { amount currency }',
    '      tasks(first: 5) {',
    '        totalCount',
    '        nodes { title status dueDate estimatedHours assignee { name } }',
    '      }',
    '    }',
    '  }',
    '}',
    ''
  ].join('\n');

  var LIVE_QUERY = [
    '# Live events of the persona, over graphql-transport-ws at /graphql/ws.',
    '# Run this as an external persona (Greta), then, in another browser tab,',
    '# move one of her tasks as Sam:',
    '#   mutation { updateTask(id: "01900000-0008-7000-8000-000000000104",',
    '#                         input: { status: DONE }) { status } }',
    '# The event arrives here, showing what Greta may see of the task now.',
    '',
    'subscription Live {',
    '  portalEvents {',
    '    id',
    '    kind',
    '    occurredAt',
    '    task { title status dueDate estimatedHours }',
    '    project { name }',
    '    invoice { number status total }',
    '  }',
    '}',
    ''
  ].join('\n');

  var root = null;
  var personas = [];

  function storageGet() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (e) {
      return null;
    }
  }

  function storageSet(value) {
    try {
      if (value) window.localStorage.setItem(STORAGE_KEY, value);
      else window.localStorage.removeItem(STORAGE_KEY);
    } catch (e) {
      /* storage disabled: the choice just isn't remembered */
    }
  }

  function findPersona(email) {
    if (!email) return null;
    for (var i = 0; i < personas.length; i++) {
      if (personas[i].email === email) return personas[i];
    }
    return null;
  }

  // The label names the persona's roles, so that what a query shows can be told apart.
  function personaLabel(p) {
    var roles = p.roles && p.roles !== p.kind ? ': ' + p.roles : '';
    return p.name + ' (' + p.kind + roles + ') \u2014 ' + p.email;
  }

  function showNote(text) {
    var note = document.getElementById('note');
    note.textContent = text;
    note.hidden = !text;
  }

  function isSubscription(params) {
    var query = (params && params.query) || '';
    var name = params && params.operationName;
    var pattern = name
      ? new RegExp('(^|[^\\w])subscription\\s+' + name + '\\b')
      : /^\s*(#[^\n]*\n\s*)*subscription\b/;
    return pattern.test(query);
  }

  // A subscription over graphql-transport-ws, as the observable GraphiQL reads
  // results from: connection_init with the persona's token, one subscribe, each
  // `next` shown as it arrives; a close from the server ends it with its reason.
  function subscribeOverSocket(token, params) {
    return {
      subscribe: function (observer) {
        var scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
        var socket = new WebSocket(scheme + window.location.host + '/graphql/ws', 'graphql-transport-ws');
        var done = false;
        function finish(error) {
          if (done) return;
          done = true;
          if (error) observer.error(error);
          else observer.complete();
        }
        socket.onopen = function () {
          var payload = token ? { Authorization: 'Bearer ' + token } : {};
          socket.send(JSON.stringify({ type: 'connection_init', payload: payload }));
        };
        socket.onmessage = function (message) {
          var m = JSON.parse(message.data);
          if (m.type === 'connection_ack') {
            socket.send(JSON.stringify({ type: 'subscribe', id: '1', payload: params }));
          } else if (m.type === 'next') {
            observer.next(m.payload);
          } else if (m.type === 'error') {
            observer.next({ errors: m.payload });
            finish();
          } else if (m.type === 'complete') {
            finish();
          } else if (m.type === 'ping') {
            socket.send(JSON.stringify({ type: 'pong' }));
          }
        };
        socket.onclose = function (event) {
          if (event.code === 1000 || done) return finish();
          observer.next({ errors: [{ message: 'socket closed: ' + event.code + ' ' + event.reason }] });
          finish();
        };
        return {
          unsubscribe: function () {
            done = true;
            if (socket.readyState === WebSocket.OPEN) {
              socket.send(JSON.stringify({ type: 'complete', id: '1' }));
            }
            socket.close(1000);
          }
        };
      }
    };
  }

  // A plain fetch-based fetcher. GraphiQL passes the parsed contents of its
  // "Headers" editor as opts.headers; those win over the persona's header so
  // a token can still be pasted by hand.
  function makeFetcher(persona) {
    var token = persona ? persona.token : null;
    return function fetcher(graphQLParams, opts) {
      // Just after a switch of tabs GraphiQL may still name the other tab's operation.
      var name = graphQLParams && graphQLParams.operationName;
      if (name && !new RegExp('(query|mutation|subscription)\\s+' + name + '\\b').test(graphQLParams.query || '')) {
        graphQLParams = Object.assign({}, graphQLParams, { operationName: null });
      }
      if (isSubscription(graphQLParams)) return subscribeOverSocket(token, graphQLParams);
      var headers = {
        'Content-Type': 'application/json',
        Accept: 'application/json'
      };
      if (token) headers.Authorization = 'Bearer ' + token;
      var extra = (opts && opts.headers) || {};
      Object.keys(extra).forEach(function (name) {
        if (name.toLowerCase() === 'authorization') delete headers.Authorization;
        headers[name] = extra[name];
      });
      return fetch(GRAPHQL_URL, {
        method: 'POST',
        headers: headers,
        body: JSON.stringify(graphQLParams),
        credentials: 'same-origin'
      }).then(function (response) {
        return response.text().then(function (text) {
          try {
            return JSON.parse(text);
          } catch (e) {
            // Not JSON (proxy error page, plain-text 401, ...): show it as
            // a GraphQL error instead of a cryptic parse failure.
            return {
              errors: [
                {
                  message:
                    'HTTP ' + response.status + ' ' + response.statusText +
                    ' (non-JSON response): ' + text.slice(0, 2000)
                }
              ]
            };
          }
        });
      });
    };
  }

  function render(persona) {
    var key = persona ? persona.email : 'anonymous';
    root.render(
      React.createElement(GraphiQL, {
        // A new key remounts GraphiQL, so the schema is introspected again
        // with the new persona's credentials.
        key: key,
        fetcher: makeFetcher(persona),
        defaultQuery: DEFAULT_QUERY,
        // The second tab: the persona's live events.
        defaultTabs: [{ query: DEFAULT_QUERY }, { query: LIVE_QUERY }],
        defaultEditorToolsVisibility: false,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: false
      })
    );
  }

  function setupSwitcher() {
    var select = document.getElementById('persona');
    personas.forEach(function (p) {
      var option = document.createElement('option');
      option.value = p.email;
      option.textContent = personaLabel(p);
      select.appendChild(option);
    });
    // Opens as a persona (the remembered one, else the first external one): an
    // anonymous playground shows nothing but UNAUTHENTICATED.
    var remembered = storageGet();
    var current =
      remembered === 'anonymous'
        ? null
        : findPersona(remembered) ||
          personas.filter(function (p) { return p.kind === 'external'; })[0] ||
          personas[0];
    select.value = current ? current.email : '';
    select.addEventListener('change', function () {
      var chosen = findPersona(select.value);
      storageSet(chosen ? chosen.email : 'anonymous');
      render(chosen);
    });
    document.getElementById('persona-box').hidden = false;
    return current;
  }

  function loadPersonas() {
    return fetch(PERSONAS_URL, {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin'
    })
      .then(function (response) {
        if (response.status === 404) {
          showNote('Persona switcher off (server not in development mode) \u2014 requests are anonymous.');
          return [];
        }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (list) {
        if (!Array.isArray(list)) throw new Error('unexpected response');
        return list.filter(function (p) {
          return p && typeof p.email === 'string' && typeof p.token === 'string';
        });
      })
      .catch(function (err) {
        showNote('Could not load demo personas (' + err.message + ') \u2014 requests are anonymous.');
        return [];
      });
  }

  function start() {
    var container = document.getElementById('graphiql');
    if (typeof React === 'undefined' || typeof ReactDOM === 'undefined' || typeof GraphiQL === 'undefined') {
      container.textContent = 'Failed to load the GraphiQL assets from /playground/.';
      return;
    }
    loadPersonas().then(function (list) {
      personas = list;
      var current = personas.length ? setupSwitcher() : null;
      container.textContent = '';
      root = ReactDOM.createRoot(container);
      render(current);
    });
  }

  start();
})();
