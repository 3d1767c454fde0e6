// The chat page, on the real Socket.IO 0.6 client (served at /socket.io/socket.io.js).
// Plain ES5, no build step. User text only ever reaches the page through textContent.
//
// Query string: ?transport=NAME pins one transport (the select does the same), ?room=NAME
// picks the room, ?connectTimeout=MS says how long to wait for a connection (default 5000).
(function () {
  'use strict';

  var TRANSPORTS = ['websocket', 'flashsocket', 'htmlfile', 'xhr-multipart', 'xhr-polling', 'jsonp-polling'];
  // What each transport needs; the client's own check() of it decides whether it is there.
  var NEEDS = {
    websocket: 'a native WebSocket',
    flashsocket: 'Flash Player 10 or later',
    htmlfile: "Internet Explorer's ActiveX htmlfile object",
    'xhr-multipart': 'multipart XMLHttpRequest, which only old Firefox had',
    'xhr-polling': 'XMLHttpRequest',
    'jsonp-polling': 'nothing special',
  };

  function $(id) {
    return document.getElementById(id);
  }

  // The hidden attribute (and the stylesheet's [hidden] rule): old browsers lack the property.
  function show(element, visible) {
    if (visible) element.removeAttribute('hidden');
    else element.setAttribute('hidden', '');
  }

  function query(name) {
    var pairs = location.search.replace(/^\?/, '').split('&');
    for (var i = 0; i < pairs.length; i++) {
      var pair = pairs[i].split('=');
      if (decodeURIComponent(pair[0]) === name) return decodeURIComponent((pair[1] || '').replace(/\+/g, ' '));
    }
    return '';
  }

  function remember(key, value) {
    try {
      if (value === undefined) return window.localStorage.getItem('chat.' + key) || '';
      window.localStorage.setItem('chat.' + key, value);
    } catch (e) {
      // No storage (private mode, old browser): nothing is remembered.
    }
    return '';
  }

  var secure = location.protocol === 'https:';
  var port = location.port || (secure ? 443 : 80);
  var connectTimeout = Number(query('connectTimeout')) || 5000;
  var chosen = TRANSPORTS.indexOf(query('transport')) >= 0 ? query('transport') : '';
  var lines = $('lines');
  var title = document.title;
  var socket = null; // the live io.Socket; events of any older one are ignored
  var watchdog = null;
  var wanted = null; // { nick, room } once the user asked to join
  var me = null; // { nick, room } once the server welcomed us
  var unread = 0;
  // This page's own token: back on a new session, the server gives it its old place.
  var key = String(Math.random()).slice(2) + String(new Date().getTime());

  // ── Transports ──────────────────────────────────────────────────────────────────────

  // The client's own test, as its getTransport() runs it.
  var crossDomain = io.Socket.prototype.isXDomain.call({ host: location.hostname, options: { port: port } });
  function usable(name) {
    var transport = io.Transport[name];
    try {
      return !!transport && !!transport.check() && (!crossDomain || !!transport.xdomainCheck());
    } catch (e) {
      return false;
    }
  }
  function usableTransports() {
    var list = [];
    for (var i = 0; i < TRANSPORTS.length; i++) if (usable(TRANSPORTS[i])) list.push(TRANSPORTS[i]);
    return list;
  }

  var select = $('transport');
  for (var i = 0; i < select.options.length; i++) {
    var option = select.options[i];
    if (option.value && !usable(option.value)) option.text = option.value + ' (not in this browser)';
  }
  select.value = chosen;

  function setStatus(text, state) {
    var status = $('status');
    status.textContent = text;
    status.className = 'status' + (state ? ' ' + state : '');
  }

  function connect() {
    hideProblem();
    var options = { port: port, secure: secure, rememberTransport: false, connectTimeout: connectTimeout };
    if (chosen) options.transports = [chosen];
    var s = new io.Socket(location.hostname, options);
    socket = s;
    if (!s.transport) {
      // The client found no transport it may use: it would wait forever. Say why.
      setStatus('not connected', 'bad');
      showUnsupported(chosen);
      return;
    }
    setStatus('connecting over ' + s.transport.type + '…');
    s.on('connect', function () {
      if (s !== socket) return;
      clearTimeout(watchdog);
      hideProblem();
      setStatus('connected over ' + s.transport.type, 'ok');
      if (wanted) s.send({ join: wanted });
    });
    s.on('message', function (message) {
      if (s === socket && message) receive(message);
    });
    s.on('disconnect', function () {
      if (s === socket) setStatus('connection lost; reconnecting…', 'warn');
    });
    s.on('reconnecting', function (delay, attempt) {
      if (s === socket) setStatus('reconnecting over ' + s.transport.type + ' (attempt ' + attempt + ')…', 'warn');
    });
    s.on('reconnect_failed', function () {
      if (s === socket) failed(s, 'The connection over ' + s.transport.type + ' was lost and did not come back.');
    });
    s.on('connect_failed', function () {
      if (s === socket) failed(s);
    });
    s.connect();
    // A pinned transport the browser has but cannot get through (a proxy, a server without
    // it): the client would keep its "connecting" state. Give up after a while and say so.
    if (chosen) {
      watchdog = setTimeout(function () {
        if (s === socket && !s.connected) failed(s);
      }, connectTimeout + 1000);
    }
  }

  // Stops a socket for good: no reconnection attempts either.
  function stop(s) {
    if (!s || !s.transport) return;
    clearTimeout(s.reconnectionTimer);
    s.reconnecting = false;
    try {
      s.disconnect();
    } catch (e) {
      // Already down.
    }
  }

  function failed(s, why) {
    clearTimeout(watchdog);
    stop(s);
    setStatus('not connected', 'bad');
    var headline = chosen ? 'No connection over ' + s.transport.type + '.' : 'No connection with any transport.';
    var seconds = Math.round(connectTimeout / 1000);
    why = why || 'Nothing answered within ' + seconds + ' seconds: the server may be down, or something blocks it.';
    showProblem(headline, why, chosen ? 'Try another:' : 'Pick one:', usableTransports(), true);
  }

  function showUnsupported(name) {
    var why = 'The Socket.IO 0.6 client checks each transport before it uses one, and ' + name;
    why += ' needs ' + NEEDS[name] + '.';
    showProblem('This browser cannot use ' + name + '.', why, 'Transports that work here:', usableTransports(), false);
  }

  // The message box: a headline, an explanation, and a button per transport to try.
  function showProblem(headline, explanation, offer, transports, retry) {
    var box = $('problem');
    empty(box);
    var strong = document.createElement('strong');
    strong.textContent = headline;
    box.appendChild(strong);
    box.appendChild(document.createTextNode(' ' + explanation));
    var p = document.createElement('p');
    if (offer) p.appendChild(document.createTextNode(offer + ' '));
    for (var i = 0; i < transports.length; i++) {
      if (transports[i] === chosen) continue;
      p.appendChild(transportButton(transports[i], transports[i]));
    }
    if (retry) p.appendChild(transportButton(chosen, 'try again'));
    box.appendChild(p);
    show(box, true);
  }
  function transportButton(name, label) {
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    button.setAttribute('data-transport', name);
    button.onclick = function () {
      pick(name);
    };
    return button;
  }
  function hideProblem() {
    show($('problem'), false);
  }

  function pick(name) {
    chosen = name;
    select.value = name;
    if (window.history && history.replaceState) {
      var search = location.search.replace(/([?&])transport=[^&]*&?/, '$1').replace(/[?&]$/, '');
      if (name) search += (search ? '&' : '?') + 'transport=' + encodeURIComponent(name);
      history.replaceState(null, '', location.pathname + search + location.hash);
    }
    reconnect();
  }

  // Starts over on the chosen transport; the new session rejoins in our old place.
  function reconnect() {
    var old = socket;
    socket = null;
    clearTimeout(watchdog);
    stop(old);
    connect();
  }

  select.onchange = function () {
    pick(select.value);
  };

  // ── Chat ────────────────────────────────────────────────────────────────────────────

  function pad(n) {
    return n < 10 ? '0' + n : String(n);
  }
  function timeOf(at) {
    var date = new Date(at);
    var time = document.createElement('time');
    time.setAttribute('datetime', date.toISOString());
    time.title = date.toLocaleString();
    time.textContent = pad(date.getHours()) + ':' + pad(date.getMinutes());
    return time;
  }
  // A steady colour per nickname, from a few that read well on white.
  var COLOURS = ['#b4233c', '#1f6fb2', '#2f7d57', '#8a4fbf', '#c25e00', '#00838f', '#6d4c41', '#ad1457'];
  function colourOf(nick) {
    var hash = 0;
    for (var i = 0; i < nick.length; i++) hash = (hash * 31 + nick.charCodeAt(i)) % 1009;
    return COLOURS[hash % COLOURS.length];
  }
  function empty(element) {
    while (element.firstChild) element.removeChild(element.firstChild);
  }
  function span(className, text) {
    var element = document.createElement('span');
    element.className = className;
    element.textContent = text;
    return element;
  }

  function addLine(className, at, nick, text) {
    var nearBottom = lines.scrollHeight - lines.scrollTop - lines.clientHeight < 40;
    var li = document.createElement('li');
    li.className = className;
    li.appendChild(timeOf(at));
    if (nick) {
      var who = span('nick', nick);
      who.style.color = colourOf(nick);
      li.appendChild(who);
    }
    li.appendChild(span('text', text));
    lines.appendChild(li);
    if (nearBottom) lines.scrollTop = lines.scrollHeight;
    if (document.hidden && className !== 'notice mine') {
      unread++;
      document.title = '(' + unread + ') ' + title;
    }
  }
  function addMessage(message) {
    addLine(me && message.nick === me.nick ? 'message mine' : 'message', message.at, message.nick, message.text);
  }
  function addNotice(text, at, mine) {
    addLine(mine ? 'notice mine' : 'notice', at, '', text);
  }

  function showUsers(users) {
    var list = $('users');
    empty(list);
    for (var i = 0; i < users.length; i++) {
      var li = document.createElement('li');
      var who = span('nick', users[i].nick);
      who.style.color = colourOf(users[i].nick);
      li.appendChild(who);
      if (me && users[i].nick === me.nick) {
        li.className = 'me';
        li.appendChild(span('you', '(you)'));
      }
      li.appendChild(span('via', users[i].transport));
      list.appendChild(li);
    }
    $('count').textContent = users.length ? '(' + users.length + ')' : '';
  }

  function showJoined(joined) {
    show($('join'), !joined);
    show($('say'), joined);
    show($('move'), joined);
    $('where').textContent = joined ? '#' + me.room : '';
    title = (joined ? '#' + me.room + ' · ' : '') + 'Switchyard chat';
    document.title = title;
    if (!joined) showUsers([]);
  }

  function receive(message) {
    switch (message.type) {
      case 'welcome':
        me = { nick: message.nick, room: message.room };
        remember('room', message.room);
        empty(lines);
        for (var i = 0; i < message.history.length; i++) addMessage(message.history[i]);
        addNotice('you joined #' + message.room + ' as ' + message.nick, message.at, true);
        showJoined(true);
        showUsers(message.users);
        show($('join-error'), false);
        $('text').focus();
        break;
      case 'message':
        addMessage(message);
        break;
      case 'joined':
      case 'left':
        addNotice(message.nick + ' ' + message.type, message.at);
        showUsers(message.users);
        break;
      case 'users':
        showUsers(message.users);
        break;
      case 'refused':
        if (me) {
          // A move to another room was refused: we are still where we were.
          addNotice(message.reason, new Date().getTime(), true);
          wanted = { nick: wanted.nick, room: me.room, key: key };
        } else {
          $('join-error').textContent = message.reason;
          show($('join-error'), true);
          wanted = null;
        }
        break;
    }
  }

  function join(room) {
    wanted = { nick: $('nick').value, room: room, key: key };
    remember('nick', wanted.nick);
    if (socket && socket.connected) socket.send({ join: wanted });
  }

  $('join').onsubmit = function (event) {
    event.preventDefault();
    join($('room').value);
  };
  $('move').onsubmit = function (event) {
    event.preventDefault();
    var room = $('other-room').value;
    $('other-room').value = '';
    if (room) join(room);
  };
  $('leave').onclick = function () {
    if (socket && socket.connected) socket.send({ leave: true });
    addNotice('you left #' + me.room, new Date().getTime(), true);
    wanted = null;
    me = null;
    showJoined(false);
    $('nick').focus();
  };
  $('say').onsubmit = function (event) {
    event.preventDefault();
    var input = $('text');
    if (!socket || !socket.connected || !input.value) return;
    socket.send({ say: input.value });
    input.value = '';
  };
  // Closing the tab: leave now rather than when the server notices the session is gone.
  window.addEventListener('pagehide', function () {
    if (socket && socket.connected && me) socket.send({ leave: true });
  });
  window.addEventListener('pageshow', function (event) {
    if (event.persisted && socket && socket.connected && wanted) socket.send({ join: wanted });
  });
  document.addEventListener('visibilitychange', function () {
    if (document.hidden) return;
    unread = 0;
    document.title = title;
  });

  $('nick').value = remember('nick');
  $('room').value = query('room') || remember('room') || '';
  connect();
})();
