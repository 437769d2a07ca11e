// SPDX-License-Identifier: MIT
// Fills in the warning page from sinkholed's explanation of this request's own host
// (nginx proxies /sinkholed/explain to /explain?name=$host&client=$remote_addr). Only
// textContent is ever set: the explanation carries text from the operator's config and
// lists, never markup. Any failure leaves the generic bilingual page in place.
'use strict';

(function () {
  // Human names of the categories lists declare (lists.NAME.category in sinkholed.yaml).
  // Any other category is shown as it is written there.
  const CATEGORIES = {
    'gambling': { vi: 'Cờ bạc', en: 'Gambling' },
    'illegal-games': { vi: 'Trò chơi trực tuyến trái phép', en: 'Illegal online games' },
    'unlicensed-content': { vi: 'Nội dung không được cấp phép', en: 'Unlicensed content' },
    'phishing': { vi: 'Lừa đảo, giả mạo (phishing)', en: 'Phishing (fraud)' },
    'malware': { vi: 'Phần mềm độc hại (mã độc)', en: 'Malware' },
  };

  // Shown when the block action has no ede_text.
  const GENERIC_LEGAL = {
    vi: 'Tên miền này nằm trong danh sách chặn mà nhà mạng áp dụng theo quy định của pháp luật.',
    en: 'This name is on a blocklist your Internet provider applies as the law requires.',
  };

  const NOT_BLOCKED = {
    title: { vi: 'Không có thông tin chặn', en: 'No blocking information' },
    vi: 'Tên miền này hiện không bị chặn đối với kết nối của bạn, hoặc không có thông tin ' +
        'về việc chặn. Nếu trang này vẫn hiện ra, thiết bị của bạn có thể đang dùng kết quả ' +
        'DNS cũ: hãy thử lại sau vài phút.',
    en: 'This name is not blocked for your connection, or there is no information about it. ' +
        'If you keep seeing this page, your device may still be using an old DNS answer: ' +
        'try again in a few minutes.',
  };

  const UNAVAILABLE = {
    vi: 'Hiện không lấy được thông tin chi tiết (danh mục, căn cứ pháp lý). ' +
        'Vui lòng tải lại trang sau.',
    en: 'The details (category, legal basis) are not available right now. ' +
        'Please reload the page later.',
  };

  // The answer is local (same server); a slow one means the resolver is in trouble.
  const TIMEOUT_MS = 4000;

  function byId(id) {
    return document.getElementById(id);
  }

  function setText(id, text) {
    const el = byId(id);
    if (el) el.textContent = text;
  }

  function show(id, visible) {
    const el = byId(id);
    if (el) el.hidden = !visible;
  }

  function setState(state) {
    document.body.setAttribute('data-state', state);
  }

  function setStatus(texts) {
    setText('status-vi', texts.vi);
    setText('status-en', texts.en);
    show('status', true);
  }

  function showBlocked(doc) {
    const raw = typeof doc.category === 'string' ? doc.category : '';
    const names = CATEGORIES[raw.toLowerCase()];
    if (names) {
      setText('category-vi', names.vi);
      setText('category-en', names.en);
      show('category-sep', true);
    } else {
      // One raw name, not the same word twice.
      setText('category-vi', raw);
      setText('category-en', '');
      show('category-sep', false);
    }
    show('fact-category', raw !== '');

    const legal = byId('legal');
    legal.textContent = '';
    if (typeof doc.ede_text === 'string' && doc.ede_text !== '') {
      legal.textContent = doc.ede_text;
    } else {
      for (const lang of ['vi', 'en']) {
        const p = document.createElement('p');
        p.lang = lang;
        p.textContent = GENERIC_LEGAL[lang];
        legal.appendChild(p);
      }
    }

    // The list's legal basis (lists.NAME.basis): authority · reference · date, and a link to
    // the published decision (sinkholed accepts only http(s) URLs; checked again here).
    const basis = doc.basis && typeof doc.basis === 'object' ? doc.basis : {};
    const field = (k) => (typeof basis[k] === 'string' ? basis[k] : '');
    const parts = ['authority', 'reference', 'date'].map(field).filter((v) => v !== '');
    setText('basis-text', parts.join(' · '));
    const url = field('url');
    const link = byId('basis-url');
    const linked = /^https?:\/\//i.test(url);
    if (linked) {
      link.href = url;
      link.textContent = url;
    }
    link.hidden = !linked;
    show('basis', parts.length > 0 || linked);

    const rule = typeof doc.rule === 'string' && doc.rule !== 'pattern' ? doc.rule : '';
    setText('rule', rule);
    show('fact-rule', rule !== '');

    show('facts', true);
    setState('blocked');
  }

  // Anything but "blocked": allowed, allow-listed, exception, monitored, no-policies,
  // refused-client, invalid-name. Never claim a block the resolver does not make.
  function showNotBlocked() {
    for (const el of Array.from(document.querySelectorAll('.blocked-only'))) el.remove();
    setText('title-vi', NOT_BLOCKED.title.vi);
    setText('title-en', NOT_BLOCKED.title.en);
    document.title = NOT_BLOCKED.title.vi + ' · ' + NOT_BLOCKED.title.en;
    setStatus(NOT_BLOCKED);
    setState('not-blocked');
  }

  function showUnavailable() {
    setStatus(UNAVAILABLE);
    setState('unavailable');
  }

  function render(doc) {
    if (doc && doc.verdict === 'blocked') showBlocked(doc);
    else showNotBlocked();
  }

  function start() {
    // The host the subscriber asked for: the browser's view, which is what was blocked.
    const host = location.hostname.replace(/\.$/, '').toLowerCase();
    if (host) setText('host', host);
    setText('when-time', new Date().toLocaleString('vi-VN'));
    show('when', true);
    setState('loading');

    if (typeof window.fetch !== 'function') return showUnavailable();
    const ctl = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = ctl ? setTimeout(function () { ctl.abort(); }, TIMEOUT_MS) : 0;
    fetch('/sinkholed/explain', {
      cache: 'no-store',
      credentials: 'omit',
      headers: { 'Accept': 'application/json' },
      signal: ctl ? ctl.signal : undefined,
    })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (doc) {
        clearTimeout(timer);
        render(doc);
      })
      .catch(function () {
        clearTimeout(timer);
        showUnavailable();
      });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
