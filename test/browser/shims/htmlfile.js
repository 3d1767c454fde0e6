/* global window, document */
/*
 * Test-only stand-in for Internet Explorer's ActiveXObject('htmlfile')
 * (docs/protocol/socketio-0.6.md §8.1), so the unmodified 0.6 client runs its htmlfile transport in
 * Chromium. The "htmlfile" is the document of a real hidden same-origin iframe; the forever iframe
 * the client puts in it loads the server's stream, and Chromium runs the server's <script> chunks
 * itself. Nothing in the message path is emulated.
 */
(function () {
  'use strict';
  window.ActiveXObject = function (progId) {
    if (progId !== 'htmlfile') throw new Error('ActiveXObject shim: only htmlfile, not ' + progId);
    var frame = document.createElement('iframe');
    frame.style.display = 'none';
    document.body.appendChild(frame);
    var doc = frame.contentDocument;
    Object.defineProperty(doc, 'parentWindow', {
      get: function () {
        return frame.contentWindow;
      },
    });
    return doc;
  };
  window.attachEvent = function (name, fn) {
    window.addEventListener(name === 'onunload' ? 'pagehide' : name.replace(/^on/, ''), fn);
  };
  window.CollectGarbage = function () {};
})();
