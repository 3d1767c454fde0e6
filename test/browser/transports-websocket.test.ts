/** The real 0.6.18 client in headless Chromium over websocket (one browser for this file). */
import { describeLegacyTransportInBrowser } from '../helpers/legacy-browser-suite.js';

describeLegacyTransportInBrowser('websocket');
