// The status page's script, run in the browser: it asks the page's own URL for the JSON status every few seconds
// and renders it again. Every value is set as text (textContent), never as markup: a tenant id or an error message
// cannot inject anything. Inline in the page, allowed by its hash in the page's CSP.

/** Between the end of one refresh and the next: /status probes every subgraph instance, each within a second. */
export const statusRefreshMs = 2_000;

export const statusPageScript = `(function () {
  'use strict';
  var refreshMs = ${statusRefreshMs};
  var main = document.getElementById('status');
  var stamp = document.getElementById('refreshed');

  function el(tag, attributes) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    for (var i = 2; i < arguments.length; i += 1) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
    }
    return node;
  }
  function table(head, rows, attributes) {
    return el('table', attributes || {},
      el('thead', {}, el.apply(null, ['tr', {}].concat(head.map(function (h) { return el('th', {}, h); })))),
      el.apply(null, ['tbody', {}].concat(rows)));
  }
  function row(cells, attributes) {
    return el.apply(null, ['tr', attributes || {}].concat(cells.map(function (c) { return c instanceof Node ? c : el('td', {}, c); })));
  }
  function badge(text, kind) { return el('span', { class: 'badge ' + kind }, text); }
  function ms(value) { return value === null || value === undefined ? '-' : value.toFixed(1) + ' ms'; }
  function pct(ratio) { return Number((ratio * 100).toFixed(2)) + ' %'; }
  function section(title, id) { return el.apply(null, ['section', { id: id }, el('h2', {}, title)].concat([].slice.call(arguments, 2))); }
  var kinds = { ready: 'good', up: 'good', closed: 'good', starting: 'warn', draining: 'warn', 'half-open': 'warn', down: 'bad', open: 'bad', refuses_gateway: 'bad', unreachable: 'bad', no_gateway: 'muted' };
  function state(text) { return badge(text, kinds[text] || 'muted'); }

  function regionsSection(status) {
    var probes = status.probes;
    var rows = status.regions.map(function (r) {
      var figures = probes && probes.regions.filter(function (p) { return p.region === r.region; })[0];
      var breached = probes && probes.breaches.some(function (b) { return b.region === r.region; });
      return row([
        el('td', {}, el('strong', {}, r.region), r.region === status.region ? ' (this gateway)' : ''),
        r.gateway || '-',
        el('td', {}, state(r.status), r.error ? ' ' + r.error : ''),
        el('td', { class: 'mono' }, r.supergraph ? r.supergraph.version : '-'),
        el('td', { class: 'mono' }, r.supergraph ? r.supergraph.configVersion : '-'),
        figures ? ms(figures.p50Ms) : '-',
        figures ? ms(figures.p95Ms) : '-',
        figures ? pct(figures.errorRate) : '-',
        el('td', {}, figures ? badge(breached ? 'SLO breached' : 'SLO met', breached ? 'bad' : 'good') : '-')
      ], { 'data-region': r.region });
    });
    return section('Regions', 'regions', table(['region', 'gateway', 'status', 'supergraph', 'config', 'probe p50', 'probe p95', 'probe errors', 'SLO'], rows));
  }

  function replicaText(replica) {
    if (replica === null) return 'no replica: reads its primary';
    var lag = replica.lagBytes === null ? 'lag unknown' : 'lag ' + replica.lagBytes + ' bytes';
    return 'replica ' + (replica.healthy ? 'in use' : 'out of the read path') + ', ' + lag;
  }

  function subgraphsSection(status) {
    var regions = status.regions.map(function (r) { return r.region; });
    var rows = Object.keys(status.subgraphs).sort().map(function (name) {
      var byRegion = status.subgraphs[name];
      return row([el('td', {}, el('strong', {}, name))].concat(regions.map(function (region) {
        var instance = byRegion[region];
        if (!instance) return el('td', { class: 'muted' }, '-');
        var extra = Object.keys(instance).filter(function (k) { return k !== 'health' && k !== 'breaker' && k !== 'replica'; });
        return el('td', { 'data-instance': name + '@' + region },
          state(instance.health), ' breaker ', state(instance.breaker),
          'replica' in instance ? el('div', { class: 'detail' }, replicaText(instance.replica)) : null,
          extra.length ? el('div', { class: 'detail' }, extra.map(function (k) { return k + ': ' + JSON.stringify(instance[k]); }).join(', ')) : null);
      })));
    });
    return section('Subgraph instances', 'subgraphs', table(['subgraph'].concat(regions), rows));
  }

  function probesSection(status) {
    var probes = status.probes;
    if (!probes) return section('Probes', 'probes', el('p', { class: 'muted' }, 'No probe round yet: this gateway probes when probes.watch is on (npx geofed probe runs them from anywhere).'));
    var rows = [];
    probes.regions.forEach(function (r) {
      r.operations.forEach(function (o) {
        rows.push(row([r.region, o.operation, o.requests, o.errors, ms(o.p50Ms), ms(o.p95Ms), o.lastError || ''], { 'data-probe': r.region + '/' + o.operation }));
      });
    });
    var breaches = probes.breaches.length === 0 ? el('p', {}, 'Every region within its SLOs.') : el.apply(null, ['ul', { class: 'breaches' }].concat(probes.breaches.map(function (b) { return el('li', {}, b.message); })));
    return section('Probes', 'probes',
      el('p', {}, 'Round of ' + probes.startedAt + ', SLO p95 ≤ ' + probes.slo.p95Ms + ' ms, error rate ≤ ' + pct(probes.slo.errorRate) + '.'),
      table(['region', 'operation', 'requests', 'errors', 'p50', 'p95', 'last error'], rows), breaches);
  }

  function rolloutsSection(status) {
    if (status.rollouts === null) return section('Rollouts', 'rollouts', el('p', { class: 'muted' }, 'The rollout store did not answer.'));
    var shown = status.rollouts.filter(function (e) { return e.canary !== undefined || e.source === 'store'; });
    if (shown.length === 0) return section('Rollouts', 'rollouts', el('p', { class: 'muted' }, 'No rollout: every region runs the versions of its config.'));
    var rows = shown.map(function (e) {
      return row([e.region, e.subgraph, e.stable, e.canary || '-', e.canary ? e.percent + ' %' : '-', (e.pinned || []).join(', '), e.rollback ? 'rolled back: ' + e.rollback.reason : e.source]);
    });
    return section('Rollouts', 'rollouts', table(['region', 'subgraph', 'stable', 'canary', 'share', 'pinned', 'state'], rows));
  }

  function tenantsSection(status) {
    if (!status.busiestTenants) return null;
    if (status.busiestTenants.length === 0) return section('Busiest tenants', 'tenants', el('p', { class: 'muted' }, 'No tenant bucket debited lately.'));
    var rows = status.busiestTenants.map(function (t) { return row([t.tenant, t.region, pct(t.fill)]); });
    return section('Busiest tenants (bucket fill)', 'tenants', table(['tenant', 'region', 'fill'], rows));
  }

  function render(status) {
    var header = el('p', { class: 'summary' }, 'Gateway of ', el('strong', {}, status.region), ': ', state(status.status),
      status.supergraph ? ', supergraph ' + status.supergraph.version + ' loaded ' + status.supergraph.loadedAt : '',
      status.supergraph && status.supergraph.lastError ? el('span', { class: 'bad-text' }, ' last reload refused: ' + status.supergraph.lastError) : '');
    main.replaceChildren(header, regionsSection(status), subgraphsSection(status), probesSection(status), rolloutsSection(status));
    var tenants = tenantsSection(status);
    if (tenants) main.appendChild(tenants);
  }

  function refresh() {
    fetch(window.location.pathname, { headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (status) {
        render(status);
        stamp.textContent = 'refreshed ' + new Date().toLocaleTimeString();
        stamp.className = '';
      })
      .catch(function (error) {
        stamp.textContent = 'refresh failed (' + error.message + '); showing the last status';
        stamp.className = 'bad-text';
      })
      .then(function () { setTimeout(refresh, refreshMs); });
  }
  refresh();
})();
`;
