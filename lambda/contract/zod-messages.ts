// zod/mini ships without messages: English ones, once for the whole function, or every issue would
// read "Invalid input". (Full zod configures them on import, with every other locale in the bundle.)
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config(en());
