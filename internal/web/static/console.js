// csirtlink console: live updates over Server-Sent Events, and small comforts. Every
// screen works without this file; it only saves reloading.
(function () {
  'use strict';

  // The browser's time zone, so that pages show times where the person is. The
  // server reads it only when the person chose no zone.
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf('csl_tz=' + tz) < 0) {
      document.cookie = 'csl_tz=' + encodeURIComponent(tz) + '; path=/; max-age=31536000; samesite=lax' +
        (location.protocol === 'https:' ? '; secure' : '');
    }
  } catch (e) { /* no Intl: the team's zone is used */ }

  // Recipients only mean something for AMBER+STRICT and RED: show them only then.
  function syncRecipients(select) {
    var set = document.getElementById(select.getAttribute('data-recipients'));
    if (!set) { return; }
    var v = select.value;
    set.hidden = !(v === 'AMBER+STRICT' || v === 'RED') && !set.querySelector('input:checked');
  }
  Array.prototype.forEach.call(document.querySelectorAll('select.tlp-select'), function (s) {
    syncRecipients(s);
    s.addEventListener('change', function () { syncRecipients(s); });
  });

  // An embargo's countdown ticks each second. The server drew it in words in the
  // person's language; the page gives the words to keep (data-fmt, data-day) and what
  // to say once the instant has come (data-done).
  Array.prototype.forEach.call(document.querySelectorAll('[data-until]'), function (el) {
    var until = Date.parse(el.getAttribute('data-until'));
    if (isNaN(until)) { return; }
    var fmt = el.getAttribute('data-fmt') || '{}', day = el.getAttribute('data-day') || 'd';
    function pad(n) { return (n < 10 ? '0' : '') + n; }
    var timer;
    function tick() {
      var s = Math.floor((until - Date.now()) / 1000);
      if (s <= 0) {
        el.textContent = el.getAttribute('data-done') || '';
        clearInterval(timer);
        return;
      }
      var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
      el.textContent = fmt.replace('{}', (d > 0 ? d + day + ' ' : '') + pad(h) + ':' + pad(m) + ':' + pad(s % 60));
    }
    timer = setInterval(tick, 1000);
    tick();
  });

  // "All partners" and single partners: ticking "all" ticks every partner; unticking
  // a partner unticks "all". Without this script the server reads "all" alone.
  Array.prototype.forEach.call(document.querySelectorAll('input.to-all'), function (all) {
    var set = all.closest('fieldset');
    if (!set) { return; }
    var others = Array.prototype.filter.call(set.querySelectorAll('input[name="to"]'), function (b) { return b !== all; });
    all.addEventListener('change', function () {
      others.forEach(function (b) { b.checked = all.checked; });
    });
    others.forEach(function (b) {
      b.addEventListener('change', function () { if (!b.checked) { all.checked = false; } });
    });
  });

  // A table that scrolls sideways (on a phone) must be reachable by keyboard to be
  // scrolled: it gets a place in the tab order while it overflows.
  function scrollables() {
    Array.prototype.forEach.call(document.querySelectorAll('.table-wrap'), function (el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        el.setAttribute('tabindex', '0');
        if (!el.hasAttribute('role')) { el.setAttribute('role', 'region'); }
        if (!el.hasAttribute('aria-label') && !el.hasAttribute('aria-labelledby')) {
          var h = el.closest('section, .card');
          h = h && h.querySelector('h1, h2, caption');
          if (h) { el.setAttribute('aria-label', h.textContent.trim()); }
        }
      } else if (el.getAttribute('tabindex') === '0' && !el.hasAttribute('data-keep-tab')) {
        el.removeAttribute('tabindex');
      }
    });
  }
  scrollables();
  window.addEventListener('resize', scrollables);

  // Focus after acknowledging: the form posts and the page comes back without the row,
  // so focus goes to where the row was — the next waiting page's button, or, when none
  // is left, the list's heading — rather than to the top of the page.
  var focusKey = 'csl_focus_after_ack';
  // (Delegated: live updates replace the rows and their forms.)
  document.addEventListener('submit', function (ev) {
    var f = ev.target;
    var list = f.matches && f.matches('form.ack-form') ? f.closest('[data-await]') : null;
    if (!list) { return; }
    var rows = Array.prototype.slice.call(list.children);
    try {
      sessionStorage.setItem(focusKey, JSON.stringify({ list: list.getAttribute('data-await'), index: rows.indexOf(f.closest('li')) }));
    } catch (e) { /* no storage: focus starts at the top */ }
  });
  (function restoreFocus() {
    var want;
    try { want = JSON.parse(sessionStorage.getItem(focusKey) || 'null'); sessionStorage.removeItem(focusKey); } catch (e) { return; }
    if (!want) { return; }
    var list = document.querySelector('[data-await="' + want.list + '"]');
    var rows = list ? list.querySelectorAll(':scope > li') : [];
    var target = null;
    if (rows.length) {
      target = rows[Math.min(Math.max(want.index, 0), rows.length - 1)].querySelector('button, a');
    }
    if (!target) {
      // The list is empty: its heading, where the row was (the confirmation is a live
      // status, read out anyway).
      target = document.getElementById('awaiting-h') || document.getElementById('wait-h') || document.querySelector('.flash');
    }
    if (target) {
      if (!target.matches('button, a, input, select, textarea')) { target.setAttribute('tabindex', '-1'); }
      target.focus();
    }
  }());

  // Alerts: a page that arrives for the team is heard (a chime, unless muted), seen (a
  // browser notification, permission asked once) and shown (the tab's icon gets a red
  // badge). Browsers let a page make sound only after the person has used it, so the
  // first time (and whenever the browser refused) a button offers to enable sound; one
  // press also asks, once, for notifications. A drill is announced as a drill, softly.
  var ctls = document.getElementById('alert-ctls');
  var audio = document.getElementById('page-sound');
  var enableBtn = document.getElementById('alerts-enable');
  var muteBtn = document.getElementById('sound-toggle');
  var store = window.localStorage;
  function getPref(k) { try { return store.getItem(k); } catch (e) { return null; } }
  function setPref(k, v) { try { store.setItem(k, v); } catch (e) { /* private mode: for this page only */ } }
  function soundOn() { return getPref('csl_sound') !== 'off'; }
  function showMute() {
    if (!muteBtn || !ctls) { return; }
    muteBtn.hidden = false;
    muteBtn.setAttribute('aria-pressed', soundOn() ? 'true' : 'false');
    muteBtn.textContent = ctls.getAttribute(soundOn() ? 'data-text-on' : 'data-text-off');
  }
  function notifyAsked() { return !window.Notification || Notification.permission !== 'default' || getPref('csl_notify_asked') === '1'; }
  var soundBlocked = false;
  function showEnable() {
    if (enableBtn) { enableBtn.hidden = !((soundBlocked && soundOn()) || !notifyAsked()); }
  }
  if (ctls) {
    showMute();
    showEnable();
    if (muteBtn) {
      muteBtn.addEventListener('click', function () {
        setPref('csl_sound', soundOn() ? 'off' : 'on');
        showMute();
        showEnable();
      });
    }
    if (enableBtn) {
      enableBtn.addEventListener('click', function () {
        setPref('csl_sound', 'on');
        if (audio) {
          // Playing once, silently, inside the click is what unlocks sound for the page.
          audio.muted = true;
          var p = audio.play();
          var unmute = function () { audio.pause(); audio.currentTime = 0; audio.muted = false; };
          if (p && p.then) { p.then(unmute, unmute); } else { unmute(); }
        }
        soundBlocked = false;
        if (window.Notification && Notification.permission === 'default') {
          setPref('csl_notify_asked', '1');
          Notification.requestPermission();
        }
        showMute();
        enableBtn.hidden = true;
      });
    }
  }
  function ring(drill) {
    if (!audio || !soundOn()) { return; }
    audio.muted = false;
    audio.volume = drill ? 0.35 : 1;
    try { audio.currentTime = 0; } catch (e) { /* not loaded yet */ }
    var p = audio.play();
    if (p && p.catch) {
      p.catch(function () { soundBlocked = true; showEnable(); });
    }
  }
  function feedItems() {
    var feed = document.querySelector('[data-live="feed"]');
    if (!feed) { return null; }
    return Array.prototype.map.call(feed.querySelectorAll('[data-id]'), function (el) {
      return { id: el.getAttribute('data-id'), drill: el.hasAttribute('data-drill'), from: el.getAttribute('data-from'),
        summary: el.textContent };
    });
  }
  // alertNew alerts once for each waiting page not alerted before (in this browser), and
  // keeps the tab's icon in step with what waits.
  function alertNew() {
    var items = feedItems();
    if (items === null) { return; }
    var icon = document.getElementById('favicon');
    if (icon) { icon.href = icon.getAttribute(items.length ? 'data-alert' : 'data-quiet'); }
    var known;
    try { known = JSON.parse(getPref('csl_alerted') || '[]'); } catch (e) { known = []; }
    var fresh = items.filter(function (it) { return known.indexOf(it.id) < 0; });
    // Remember only what still waits, so the list stays small.
    setPref('csl_alerted', JSON.stringify(items.map(function (it) { return it.id; })));
    if (!fresh.length) { return; }
    var real = fresh.filter(function (it) { return !it.drill; });
    ring(real.length === 0);
    if (window.Notification && Notification.permission === 'granted' && ctls) {
      fresh.forEach(function (it) {
        var title = ctls.getAttribute(it.drill ? 'data-text-drill' : 'data-text-page').replace('{team}', it.from);
        try {
          var n = new Notification(title, { body: it.summary, tag: it.id, requireInteraction: !it.drill });
          n.onclick = function () { window.focus(); location.href = '/hotline/pages/' + encodeURIComponent(it.id); };
        } catch (e) { /* some browsers allow notifications only from a service worker */ }
      });
    }
  }
  alertNew();

  var scope = document.body.getAttribute('data-live-scope');
  if (!scope || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var indicator = document.getElementById('live');
  // showLive shows the stream's state: 'up', 'down' (reconnecting) or 'paused'.
  function showLive(state) {
    if (!indicator) { return; }
    indicator.hidden = false;
    indicator.textContent = indicator.getAttribute('data-text-' + state);
    indicator.className = 'live ' + (state === 'up' ? 'live-on' : 'live-off');
  }

  var timer = null, busy = false, again = false, fetched = Date.now();
  // refresh fetches this page again and swaps every region marked data-live. Forms
  // live outside those regions, so nothing a person is typing is lost. A quiet
  // refresh (the clock's, below) does not flash what changed, and does not count as
  // the person's activity: a screen left open still signs out when idle.
  function refresh(quiet) {
    if (busy) { again = true; return; }
    busy = true;
    fetched = Date.now();
    var headers = { 'Accept': 'text/html' };
    if (quiet === true) { headers['X-CSL-Tick'] = '1'; }
    fetch(location.href, { credentials: 'same-origin', headers: headers })
      .then(function (r) {
        // Signed out (idle too long, or elsewhere): show the sign-in screen rather
        // than leave stale times and pages on the screen.
        if (r.redirected && /\/signin$/.test(new URL(r.url).pathname)) { location.reload(); }
        if (!r.ok || r.redirected) { throw new Error('status ' + r.status); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        // The title counts pages waiting for us, for a tab in the background.
        if (doc.title && doc.title !== document.title) { document.title = doc.title; }
        // Focus inside a region that is swapped would fall to the page's top: it goes
        // back to the element of the same id, or the region itself.
        var active = document.activeElement, activeID = active && active.id;
        Array.prototype.forEach.call(document.querySelectorAll('[data-live]'), function (el) {
          var name = el.getAttribute('data-live');
          var fresh = doc.querySelector('[data-live="' + name + '"]');
          if (fresh && fresh.innerHTML !== el.innerHTML) {
            var had = active && el.contains(active);
            el.innerHTML = fresh.innerHTML;
            if (had) {
              var back = activeID && document.getElementById(activeID);
              if (!back) { el.setAttribute('tabindex', '-1'); back = el; }
              back.focus();
            }
            if (quiet === true) { return; }
            el.classList.remove('updated');
            void el.offsetWidth;
            el.classList.add('updated');
          }
        });
      })
      .then(alertNew)
      .catch(function () { /* the next event or a reload will do */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  // wants says whether a change concerns this page: "all" takes every change, "pages"
  // every hotline page, "incident:<id>" or "page:<id>" one object. Every page shows
  // the count of pages waiting for us in its navigation, so a page change refreshes
  // that too.
  function wants(kind, id) {
    if (scope === 'all' || scope === kind + 's' || scope === kind + ':' + id) { return true; }
    return kind === 'page' && document.querySelector('[data-live="nav-pages"]') !== null;
  }
  var es = null;
  function connect() {
    es = new EventSource('/events');
    es.onopen = function () { showLive('up'); };
    es.onerror = function () { if (es) { showLive('down'); } };
    ['incident', 'page'].forEach(function (kind) {
      es.addEventListener(kind, function (ev) {
        if (!wants(kind, ev.data)) { return; }
        clearTimeout(timer);
        timer = setTimeout(refresh, 200);
      });
    });
    // The server caps a person's streams and closes the oldest for a newer tab: this
    // tab then stops reconnecting (which would close another) until it is looked at.
    es.addEventListener('closed', function () {
      es.close();
      es = null;
      showLive('paused');
    });
  }
  connect();
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && es === null) {
      connect();
      refresh(true);
    }
  });
  window.addEventListener('pagehide', function () { if (es) { es.close(); } });

  // The server words every time on the screen ("waiting 12 min", "3 minutes ago") in
  // the person's language when it draws the page. So that they keep counting, a page
  // with live regions is fetched again quietly each minute while it is in view, and at
  // once when it comes back into view after longer. (Tests shorten the minute with
  // window.cslTickMs.)
  if (!document.querySelector('[data-live]:not([data-live="nav-pages"])')) { return; }
  var minute = window.cslTickMs > 0 ? window.cslTickMs : 60000;
  setInterval(function () {
    if (!document.hidden) { refresh(true); }
  }, minute);
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && Date.now() - fetched >= minute) { refresh(true); }
  });
}());
