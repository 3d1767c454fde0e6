/* global window */
/*
 * Test-only stand-in for old Firefox's multipart XHR (docs/protocol/socketio-0.6.md §8.2), so the
 * unmodified 0.6 client runs its xhr-multipart transport in Chromium. A thin wrapper over a
 * real XMLHttpRequest: with `multipart` off it mirrors the real one; with it on, it reads the
 * multipart/x-mixed-replace body as Chromium streams it and raises readyState 4 once per
 * part with that part's body, as Firefox did. The bytes parsed are the server's own.
 */
(function () {
  'use strict';
  var Native = window.XMLHttpRequest;
  var BOUNDARY = '\n--socketio\n';

  function MultipartXhr() {
    this._xhr = new Native();
    this.readyState = 0;
    this.status = 0;
    this.responseText = '';
    this.onreadystatechange = null;
  }
  MultipartXhr.prototype.multipart = false;
  MultipartXhr.prototype.withCredentials = false;
  MultipartXhr.prototype.open = function (method, url) {
    this._xhr.open(method, url, true);
  };
  MultipartXhr.prototype.setRequestHeader = function (name, value) {
    this._xhr.setRequestHeader(name, value);
  };
  MultipartXhr.prototype.abort = function () {
    this._xhr.abort();
  };
  MultipartXhr.prototype.send = function (body) {
    var self = this; // eslint-disable-line @typescript-eslint/no-this-alias -- ES5: the callback needs the wrapper
    var xhr = this._xhr;
    var seen = 0;
    var buffer = '';
    var isStarted = false;
    xhr.onreadystatechange = function () {
      if (!self.multipart) {
        self.readyState = xhr.readyState;
        self.status = xhr.readyState >= 2 ? xhr.status : 0;
        self.responseText = xhr.readyState >= 3 ? xhr.responseText : '';
        if (self.onreadystatechange) self.onreadystatechange();
        return;
      }
      if (xhr.readyState < 3) return;
      buffer += xhr.responseText.slice(seen);
      seen = xhr.responseText.length;
      if (!isStarted) {
        var opening = /^--socketio\r?\n/.exec(buffer);
        if (opening === null) return;
        buffer = buffer.slice(opening[0].length);
        isStarted = true;
      }
      for (var parts = 0; parts < 10000; parts++) {
        var headersEnd = buffer.search(/\r?\n\r?\n/);
        if (headersEnd === -1) return;
        var bodyStart = buffer.indexOf('\n\n') === headersEnd ? headersEnd + 2 : headersEnd + 4;
        var end = buffer.indexOf(BOUNDARY, bodyStart);
        if (end === -1) return;
        var part = buffer.slice(bodyStart, end);
        buffer = buffer.slice(end + BOUNDARY.length);
        self.readyState = 4;
        self.status = xhr.status;
        self.responseText = part;
        if (self.onreadystatechange) self.onreadystatechange();
      }
    };
    xhr.send(body);
  };
  window.XMLHttpRequest = MultipartXhr;
})();
