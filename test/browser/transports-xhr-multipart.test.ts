/** The real 0.6.18 client in headless Chromium over xhr-multipart (one browser for this file). */
import { describeLegacyTransportInBrowser } from '../helpers/legacy-browser-suite.js';

describeLegacyTransportInBrowser('xhr-multipart');
