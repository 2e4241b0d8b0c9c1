//! catga in the editor, driven as editors drive it: `catga lint --format cargo` read as
//! rust-analyzer reads cargo's messages, `catga server` spoken to over stdio with JSON-RPC
//! framing, by a test client and by Neovim's built-in LSP client, and `catga lint --watch`
//! re-linting a saved file.

mod cargo_format;
mod lsp_client;
mod nvim;
mod server;
mod watch;
