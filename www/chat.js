// The chat page: the real Socket.IO 0.6 client (served at /socket.io/socket.io.js).
// A query string ?transport=xhr-polling pins one transport (handy to try each of them).
(function () {
  var params = new URLSearchParams(location.search);
  var options = { port: location.port || 80, rememberTransport: false };
  if (params.get('transport')) options.transports = [params.get('transport')];
  var socket = new io.Socket(location.hostname, options);
  var lines = document.getElementById('lines');
  var status = document.getElementById('status');
  var joinForm = document.getElementById('join');
  var sayForm = document.getElementById('say');

  function addLine(nick, text, cls) {
    var li = document.createElement('li');
    if (cls) li.className = cls;
    if (nick) {
      var b = document.createElement('b');
      b.textContent = nick + ':';
      li.appendChild(b);
    }
    li.appendChild(document.createTextNode(text));
    lines.appendChild(li);
  }

  socket.on('connect', function () {
    status.textContent = 'connected over ' + socket.transport.type;
  });
  socket.on('disconnect', function () {
    status.textContent = 'disconnected';
  });
  socket.on('message', function (msg) {
    if (msg.welcome) {
      joinForm.hidden = true;
      sayForm.hidden = false;
      for (var i = 0; i < msg.history.length; i++) addLine(msg.history[i].nick, msg.history[i].text);
      addLine('', 'you joined as ' + msg.welcome, 'notice');
    } else if (msg.message) {
      addLine(msg.message.nick, msg.message.text);
    } else if (msg.notice) {
      addLine('', msg.notice, 'notice');
    }
  });

  joinForm.addEventListener('submit', function (event) {
    event.preventDefault();
    socket.send({ nick: document.getElementById('nick').value });
  });
  sayForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var input = document.getElementById('text');
    socket.send({ text: input.value });
    input.value = '';
  });
  socket.connect();
})();
