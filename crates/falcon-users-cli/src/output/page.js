// The review page's one script. It reads the page's two JSON blocks (the review, #review, and
// its evidence, #evidence) and the digest comment on the last line, and builds the page from
// them with textContent and attributes only: no tenant string is ever parsed as markup.
// It says how it went on the body element: data-status (ready | failed), data-errors, data-render-ms
// (time since navigation started, when the page was drawn).
(function () {
  'use strict';

  var PAGE_ROWS = 100;
  var errors = 0;

  function fail(message) {
    errors += 1;
    document.body.setAttribute('data-errors', String(errors));
    var box = document.getElementById('errors');
    if (box) {
      box.hidden = false;
      box.appendChild(node('li', {}, message));
    }
  }

  window.addEventListener('error', function (event) {
    fail(String(event.message));
  });

  // An element with attributes and text; never markup.
  function node(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs).forEach(function (name) {
      el.setAttribute(name, attrs[name]);
    });
    if (text !== undefined && text !== null) {
      el.textContent = String(text);
    }
    return el;
  }

  function block(id) {
    var el = document.getElementById(id);
    if (!el) {
      throw new Error('the page has no #' + id + ' block');
    }
    return JSON.parse(el.textContent);
  }

  // The digest on the page's last line: a comment after the closing html tag, `sha256:...`.
  function pageDigest() {
    for (var n = document.lastChild; n; n = n.previousSibling) {
      if (n.nodeType === Node.COMMENT_NODE) {
        var text = n.data.trim();
        if (text.indexOf('sha256:') === 0) {
          return text;
        }
      }
    }
    return 'none (the digest line is missing)';
  }

  function count(n) {
    return Number(n).toLocaleString('en-US');
  }

  function cidLabel(ref) {
    if (!ref) {
      return 'unknown';
    }
    var text = ref.with_checksum || ref.cid;
    return ref.name ? text + ' (' + ref.name + ')' : text;
  }

  function renderMeta(evidence, review) {
    var dl = document.getElementById('meta');
    function row(term, value) {
      dl.appendChild(node('dt', {}, term));
      dl.appendChild(node('dd', {}, value));
    }
    var tools = Object.keys(evidence.tools).map(function (k) {
      return k + ' ' + evidence.tools[k];
    });
    var options = Object.keys(evidence.options).map(function (k) {
      return k + '=' + JSON.stringify(evidence.options[k]);
    });
    var r = evidence.requests;
    row('Made at', evidence.made_at);
    row('Made by', tools.join(', '));
    row('Cloud', evidence.cloud.name + ' (' + evidence.cloud.base_url + ')');
    row('CID', cidLabel(evidence.cid));
    row('Member CIDs', evidence.member_cids.length ? evidence.member_cids.map(cidLabel).join(', ') : 'none');
    row('Options', options.join(', '));
    row('Requests', r.requests + ' (' + r.retries + ' retried, ' + r.rate_limited + ' rate limited, ' + r.token_requests + ' token requests)');
    row('Data', count(evidence.data.bytes) + ' bytes, sha256:' + evidence.data.sha256);
    row('Page digest', pageDigest());
    row('Deleted during the review', count(review.deleted_during_review));
    evidence.notes.forEach(function (note) {
      row('Note', note);
    });
    var title = 'Access review ' + evidence.made_at + ' \u2014 ' + cidLabel(evidence.cid);
    document.title = title;
    document.getElementById('title').textContent = title;
  }

  // A chart of horizontal bars: rows of {key, label, count}, each drawn as a share of the largest.
  function bars(id, rows, empty) {
    var box = document.getElementById(id);
    var max = rows.reduce(function (m, r) { return Math.max(m, r.count); }, 0);
    if (!rows.length) {
      box.appendChild(node('p', { 'class': 'empty' }, empty));
      return;
    }
    rows.forEach(function (r) {
      var line = node('div', { 'class': 'bar', 'data-chart': id, 'data-key': r.key, 'data-count': String(r.count) });
      line.appendChild(node('span', { 'class': 'label', title: r.label }, r.label));
      var track = node('span', { 'class': 'track' });
      var fill = node('span', { 'class': 'fill' + (r.cls ? ' ' + r.cls : '') });
      // CSSOM, not a style attribute: the policy allows no inline style attribute.
      fill.style.width = (max ? (100 * r.count) / max : 0).toFixed(2) + '%';
      track.appendChild(fill);
      line.appendChild(track);
      line.appendChild(node('span', { 'class': 'count' }, count(r.count)));
      box.appendChild(line);
    });
  }

  function renderCharts(review, evidence) {
    var summary = review.summary;
    var total = 0;
    var kinds = Object.keys(summary.findings).map(function (kind) {
      total += summary.findings[kind];
      return { key: kind, label: kind, count: summary.findings[kind], cls: 'kind-' + kind };
    });
    var tiles = document.getElementById('tiles');
    [['users', 'users reviewed', summary.users], ['findings', 'findings', total]].forEach(function (t) {
      var tile = node('div', { 'class': 'tile', 'data-tile': t[0], 'data-count': String(t[2]) });
      tile.appendChild(node('strong', {}, count(t[2])));
      tile.appendChild(node('span', {}, t[1]));
      tiles.appendChild(tile);
    });
    bars('kinds', kinds, 'no findings');

    var privileged = summary.roles.filter(function (r) { return r.privileged; });
    privileged.sort(function (a, b) { return b.holders - a.holders || (a.role_id < b.role_id ? -1 : 1); });
    bars('privileged', privileged.map(function (r) {
      return { key: r.role_id, label: r.role_name + ' (' + r.role_id + ')', count: r.holders };
    }), 'no privileged role is held');

    var ages = summary.last_login;
    var previous = 0;
    var logins = ages.bands.map(function (b) {
      var label = b.up_to_days === null ? 'over ' + previous + ' days' : (previous ? previous + 1 : 0) + '\u2013' + b.up_to_days + ' days';
      var key = b.up_to_days === null ? 'older' : 'up-to-' + b.up_to_days;
      previous = b.up_to_days === null ? previous : b.up_to_days;
      return { key: key, label: label, count: b.users };
    });
    logins.push({ key: 'never', label: 'never logged in', count: ages.never });
    if (ages.unreadable) {
      logins.push({ key: 'unreadable', label: 'time unreadable', count: ages.unreadable });
    }
    bars('logins', logins, 'no users');

    var names = {};
    [evidence.cid].concat(evidence.member_cids).forEach(function (ref) {
      if (ref) {
        names[ref.cid] = cidLabel(ref);
      }
    });
    var perCid = {};
    review.findings.forEach(function (f) {
      perCid[f.cid] = (perCid[f.cid] || 0) + 1;
    });
    var cids = Object.keys(perCid).sort(function (a, b) { return perCid[b] - perCid[a] || (a < b ? -1 : 1); });
    bars('cids', cids.map(function (cid) {
      return { key: cid, label: names[cid] || cid, count: perCid[cid] };
    }), 'no findings');
  }

  // The findings table: filtered and sorted over the whole array, drawn a page of rows at a time.
  var COLUMNS = [
    { key: 'finding', title: 'Finding', text: function (f) { return f.finding; } },
    { key: 'uid', title: 'Login', text: function (f) { return f.uid; } },
    { key: 'name', title: 'Name', text: function (f) { return f.name || ''; } },
    { key: 'cid', title: 'CID', text: function (f) { return f.cid; } },
    { key: 'roles', title: 'Roles', text: function (f) { return f.role_names.join(', '); } },
    { key: 'why', title: 'Why', text: function (f) { return f.why; } }
  ];

  function renderTable(review) {
    var findings = review.findings;
    var haystack = null;
    var state = { query: '', kind: '', sort: null, descending: false, page: 0 };
    var shown = findings;
    var table = document.getElementById('findings');
    var head = table.querySelector('thead tr');
    var body = table.querySelector('tbody');
    var status = document.getElementById('shown');
    var query = document.getElementById('query');
    var kind = document.getElementById('kind');

    Object.keys(review.summary.findings).forEach(function (k) {
      kind.appendChild(node('option', { value: k }, k));
    });
    COLUMNS.forEach(function (c) {
      var th = node('th', { scope: 'col' });
      var button = node('button', { type: 'button', 'data-sort': c.key }, c.title);
      button.addEventListener('click', function () {
        state.descending = state.sort === c ? !state.descending : false;
        state.sort = c;
        state.page = 0;
        update();
      });
      th.appendChild(button);
      head.appendChild(th);
    });

    function matching() {
      var q = state.query.toLowerCase();
      if (q && !haystack) {
        haystack = findings.map(function (f) {
          return COLUMNS.map(function (c) { return c.text(f); }).join('\n').toLowerCase();
        });
      }
      var out = [];
      for (var i = 0; i < findings.length; i++) {
        if (state.kind && findings[i].finding !== state.kind) {
          continue;
        }
        if (q && haystack[i].indexOf(q) < 0) {
          continue;
        }
        out.push(findings[i]);
      }
      if (state.sort) {
        var key = state.sort.text;
        var sign = state.descending ? -1 : 1;
        var keyed = out.map(function (f, i) { return { k: key(f).toLowerCase(), i: i, f: f }; });
        keyed.sort(function (a, b) { return a.k < b.k ? -sign : a.k > b.k ? sign : a.i - b.i; });
        out = keyed.map(function (e) { return e.f; });
      }
      return out;
    }

    function draw() {
      var pages = Math.max(1, Math.ceil(shown.length / PAGE_ROWS));
      state.page = Math.min(Math.max(0, state.page), pages - 1);
      var from = state.page * PAGE_ROWS;
      var rows = shown.slice(from, from + PAGE_ROWS);
      var fragment = document.createDocumentFragment();
      rows.forEach(function (f) {
        var tr = node('tr', { 'data-finding': f.finding });
        COLUMNS.forEach(function (c) {
          tr.appendChild(node('td', {}, c.text(f)));
        });
        fragment.appendChild(tr);
      });
      body.replaceChildren(fragment);
      status.setAttribute('data-total', String(shown.length));
      status.textContent = shown.length
        ? 'Rows ' + count(from + 1) + '\u2013' + count(from + rows.length) + ' of ' + count(shown.length) +
          (shown.length === findings.length ? '' : ' (of ' + count(findings.length) + ' findings)') +
          '; page ' + (state.page + 1) + ' of ' + pages
        : 'No finding matches (of ' + count(findings.length) + ')';
      document.getElementById('previous').disabled = state.page === 0;
      document.getElementById('next').disabled = state.page >= pages - 1;
      head.querySelectorAll('button').forEach(function (b) {
        var sorted = state.sort && b.getAttribute('data-sort') === state.sort.key;
        b.parentNode.setAttribute('aria-sort', sorted ? (state.descending ? 'descending' : 'ascending') : 'none');
      });
    }

    function update() {
      shown = matching();
      draw();
    }

    var timer = null;
    query.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        state.query = query.value;
        state.page = 0;
        update();
      }, 150);
    });
    kind.addEventListener('change', function () {
      state.kind = kind.value;
      state.page = 0;
      update();
    });
    document.getElementById('previous').addEventListener('click', function () {
      state.page -= 1;
      draw();
    });
    document.getElementById('next').addEventListener('click', function () {
      state.page += 1;
      draw();
    });

    // A filter in the address (`#q=TEXT&kind=KIND`), to share or bookmark a view.
    var wanted = new URLSearchParams(location.hash.replace(/^#/, ''));
    state.query = wanted.get('q') || '';
    state.kind = wanted.get('kind') || '';
    query.value = state.query;
    kind.value = state.kind;
    update();
  }

  document.addEventListener('DOMContentLoaded', function () {
    try {
      var review = block('review');
      var evidence = block('evidence');
      renderMeta(evidence, review);
      renderCharts(review, evidence);
      renderTable(review);
      document.body.setAttribute('data-status', errors ? 'failed' : 'ready');
    } catch (e) {
      fail(String((e && e.message) || e));
      document.body.setAttribute('data-status', 'failed');
    }
    document.body.setAttribute('data-errors', String(errors));
    document.body.setAttribute('data-render-ms', String(Math.round(performance.now())));
  });
})();
