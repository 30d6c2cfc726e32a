// `node --import <this file> --import tsx <child.ts>`: loads binaryen and the AssemblyScript
// compiler before tsx's loader is registered (see compiler/util/heavy.ts for why), so a
// child process that builds a runtime starts in ~2 s instead of ~34 s.
await import('binaryen');
await import('assemblyscript/asc');
