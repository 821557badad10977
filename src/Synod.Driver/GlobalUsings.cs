// The only namespaces the pure driver relies on everywhere; no threading, I/O or time.
global using System;
global using System.Collections.Generic;
global using System.Linq;
