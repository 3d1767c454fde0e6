// The Switchyard dashboard: one snapshot a second over the server's own websocket endpoint
// (<this page>/live), drawn as tables and a uPlot chart of messages in and out per second.
// Plain browser JavaScript, no build step; text from the server is set as text, never markup.
(function () {
  'use strict';
  var WINDOW_S = 120;
  var times = [];
  var rateIn = [];
  var rateOut = [];
  var previous = null;
  var chart = null;

  function $(id) {
    return document.getElementById(id);
  }

  function fill(tbodyParent, rows) {
    var body = $(tbodyParent).querySelector('tbody');
    body.textContent = '';
    rows.forEach(function (cells) {
      var tr = document.createElement('tr');
      cells.forEach(function (cell) {
        var td = document.createElement('td');
        td.textContent = String(cell);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function list(id, pairs) {
    var dl = $(id);
    dl.textContent = '';
    pairs.forEach(function (pair) {
      var dt = document.createElement('dt');
      dt.textContent = pair[0];
      var dd = document.createElement('dd');
      dd.textContent = String(pair[1]);
      dd.setAttribute('data-key', pair[0]);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
  }

  function megabytes(bytes) {
    return (bytes / 1048576).toFixed(1) + ' MiB';
  }

  function makeChart() {
    var el = $('chart');
    chart = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 180,
        scales: { x: { time: true }, y: { range: [0, null] } },
        series: [{}, { label: 'in', stroke: '#2a7ab8', width: 2 }, { label: 'out', stroke: '#c2571a', width: 2 }],
        axes: [{}, { size: 50 }],
      },
      [times, rateIn, rateOut],
      el,
    );
    window.addEventListener('resize', function () {
      chart.setSize({ width: Math.max(300, el.clientWidth), height: 180 });
    });
  }

  function plot(snapshot) {
    if (previous !== null) {
      var seconds = Math.max(0.001, (snapshot.at - previous.at) / 1000);
      times.push(snapshot.at / 1000);
      rateIn.push((snapshot.received - previous.received) / seconds);
      rateOut.push((snapshot.sent - previous.sent) / seconds);
      if (times.length > WINDOW_S) {
        times.shift();
        rateIn.shift();
        rateOut.shift();
      }
      $('rate-in').textContent = 'in ' + rateIn[rateIn.length - 1].toFixed(1) + '/s';
      $('rate-out').textContent = 'out ' + rateOut[rateOut.length - 1].toFixed(1) + '/s';
    }
    previous = snapshot;
    if (chart === null) makeChart();
    chart.setData([times, rateIn, rateOut]);
  }

  function show(snapshot) {
    var total = 0;
    snapshot.sessions.forEach(function (row) {
      total += row.open;
    });
    $('total').textContent = String(total);
    fill(
      'sessions',
      snapshot.sessions.map(function (row) {
        return [row.family, row.transport, row.open];
      }),
    );
    var lost = 0;
    snapshot.lost.forEach(function (row) {
      lost += row.count;
    });
    list('trouble', [
      ['lost', lost],
      ['refused upgrades', snapshot.upgradesRefused],
      ['queue overflows', snapshot.overflows],
      ['adapter errors', snapshot.adapterErrors],
    ]);
    $('room-count').textContent = String(snapshot.roomCount);
    fill(
      'rooms',
      snapshot.rooms.map(function (row) {
        return [row.name, row.members];
      }),
    );
    fill(
      'queues',
      snapshot.queues.map(function (row) {
        return [row.id, row.family, row.transport, row.queued];
      }),
    );
    var cluster = [
      ['adapter', snapshot.cluster.adapter],
      ['memory (rss)', megabytes(snapshot.memory.rssBytes)],
      ['heap used', megabytes(snapshot.memory.heapUsedBytes)],
    ];
    if (snapshot.cluster.serverName) cluster.push(['node', snapshot.cluster.serverName]);
    if (snapshot.cluster.isForwarding !== undefined) {
      cluster.push(['forwarding', snapshot.cluster.isForwarding ? 'yes' : 'no (broker lost)']);
    }
    list('cluster', cluster);
    showNodes(snapshot);
    $('phase').textContent = snapshot.notReady === null ? 'ready' : 'not ready: ' + snapshot.notReady;
    $('phase').className = 'phase ' + (snapshot.notReady === null ? 'ok' : 'bad');
    $('updated').textContent = 'updated ' + new Date(snapshot.at).toLocaleTimeString();
    plot(snapshot);
  }

  // Every node of the cluster (from Redis, each node's record of its last liveness round) and
  // the cluster's rooms summed over them; hidden on a server without a cluster.
  function showNodes(snapshot) {
    var nodes = snapshot.nodes || [];
    $('nodes-card').hidden = nodes.length === 0;
    $('node-count').textContent = String(nodes.length);
    fill(
      'nodes',
      nodes.map(function (node) {
        var s = node.stats;
        var state = (node.isAlive ? 'alive' : 'dead') + (node.isSelf ? ' (this one)' : '');
        if (!s) return [node.nodeId, node.host, node.pid || '', state, '', '', '', '', '', ''];
        return [
          node.nodeId,
          node.host,
          node.pid,
          state,
          s.sessions,
          s.connections,
          s.messagesInPerSecond.toFixed(1),
          s.messagesOutPerSecond.toFixed(1),
          Math.round(s.cpuRatio * 100) + '%',
          megabytes(s.rssBytes),
        ];
      }),
    );
    var rooms = snapshot.clusterRooms;
    $('cluster-rooms-card').hidden = rooms === null || rooms === undefined;
    if (!rooms) return;
    $('cluster-room-count').textContent = rooms.isExact ? String(rooms.count) : '≥ ' + rooms.count;
    fill(
      'cluster-rooms',
      rooms.rooms.map(function (row) {
        return [row.name, row.members];
      }),
    );
  }

  function connect() {
    var url =
      location.href
        .replace(/^http/, 'ws')
        .replace(/[?#].*$/, '')
        .replace(/\/$/, '') + '/live';
    var socket = new WebSocket(url);
    socket.onmessage = function (event) {
      show(JSON.parse(event.data));
    };
    socket.onclose = function () {
      $('phase').textContent = 'disconnected; retrying…';
      $('phase').className = 'phase bad';
      setTimeout(connect, 2000);
    };
  }

  connect();
})();
