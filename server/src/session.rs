//! One client's session: the workspace in memory, the open documents, the edits waiting for
//! their debounce, and the loop that dispatches every message.

use crate::ServerError;
use crate::actions::{self, FIX_ALL_KIND};
use crate::convert;
use crate::document::{Document, Encoding};
use catga_lints::{Diagnostic, LintOptions, LiveWorkspace};
use crossbeam_channel::RecvTimeoutError;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    DidSaveTextDocument, Notification as _, PublishDiagnostics, ShowMessage,
};
use lsp_types::request::{CodeActionRequest, HoverRequest, RegisterCapability, Request as _};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, FileChangeType,
    HoverProviderCapability, InitializeParams, MessageType, PublishDiagnosticsParams, SaveOptions,
    ServerCapabilities, ShowMessageParams, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Url,
};
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// An open document: its text and the file it is.
struct Open {
    document: Document,
    path: PathBuf,
    /// The analyzer's diagnostics last published for it (what code actions and hover read).
    diagnostics: Vec<Diagnostic>,
}

pub(crate) struct Session {
    root: PathBuf,
    encoding: Encoding,
    /// The client lets us register file watchers (for catga.toml and files changed on disk).
    watch_files: bool,
    live: Option<LiveWorkspace>,
    open: HashMap<Url, Open>,
    /// Documents changed since their last check, with when to check them.
    pending: HashMap<Url, Instant>,
    /// Files opened that the workspace did not hold, already looked for by discovering again.
    rediscovered: HashSet<PathBuf>,
    /// When the last check of changed buffers ended.
    last_check: Option<Instant>,
}

impl Session {
    pub(crate) fn new(params: &InitializeParams) -> Session {
        #[allow(deprecated)] // `root_uri`: the fallback for clients without workspace folders.
        let root = params
            .workspace_folders
            .as_ref()
            .and_then(|folders| folders.first())
            .map(|folder| &folder.uri)
            .or(params.root_uri.as_ref())
            .and_then(|uri| uri.to_file_path().ok())
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        let encoding = Encoding::negotiate(
            params
                .capabilities
                .general
                .as_ref()
                .and_then(|general| general.position_encodings.as_deref()),
        );
        let watch_files = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|workspace| workspace.did_change_watched_files.as_ref())
            .and_then(|watched| watched.dynamic_registration)
            .unwrap_or(false);
        Session {
            root,
            encoding,
            watch_files,
            live: None,
            open: HashMap::new(),
            pending: HashMap::new(),
            rediscovered: HashSet::new(),
            last_check: None,
        }
    }

    pub(crate) fn capabilities(&self) -> ServerCapabilities {
        ServerCapabilities {
            position_encoding: Some(self.encoding.kind()),
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                        include_text: Some(false),
                    })),
                    ..TextDocumentSyncOptions::default()
                },
            )),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![
                    CodeActionKind::QUICKFIX,
                    CodeActionKind::new(FIX_ALL_KIND),
                ]),
                resolve_provider: Some(false),
                work_done_progress_options: Default::default(),
            })),
            ..ServerCapabilities::default()
        }
    }

    /// Every message until `shutdown` and `exit`.
    pub(crate) fn main_loop(&mut self, connection: &Connection) -> Result<(), ServerError> {
        self.reload(connection);
        self.register_watchers(connection);
        loop {
            let received = match self.pending.values().min().copied() {
                Some(deadline) => connection.receiver.recv_deadline(deadline),
                None => connection
                    .receiver
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
            };
            let message = match received {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => {
                    self.guarded(connection, "checking changed files", |session| {
                        session.check_due(connection, Instant::now());
                    });
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return Err(ServerError::Disconnected),
            };
            match message {
                Message::Request(request) => {
                    if connection.handle_shutdown(&request)? {
                        return Ok(());
                    }
                    self.on_request(connection, request);
                }
                Message::Notification(notification) => {
                    if notification.method == lsp_types::notification::Exit::METHOD {
                        return Err(ServerError::ExitWithoutShutdown);
                    }
                    let method = notification.method.clone();
                    self.guarded(connection, &method, |session| {
                        session.on_notification(connection, notification);
                    });
                }
                // Answers to our requests (the watcher registration): nothing to do.
                Message::Response(_) => {}
            }
        }
    }

    /// Runs `work`; a panic in it is reported to the user instead of ending the server.
    fn guarded(&mut self, connection: &Connection, what: &str, work: impl FnOnce(&mut Session)) {
        if std::panic::catch_unwind(AssertUnwindSafe(|| work(self))).is_err() {
            show(
                connection,
                MessageType::ERROR,
                format!(
                    "catga: internal error while {what}; the server goes on (please report it)"
                ),
            );
        }
    }

    fn on_request(&mut self, connection: &Connection, request: Request) {
        let id = request.id.clone();
        let mut response = None;
        self.guarded(connection, &request.method.clone(), |session| {
            response = Some(session.answer(connection, request));
        });
        let response = response.unwrap_or_else(|| {
            Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                "catga: internal error".to_string(),
            )
        });
        let _ = connection.sender.send(response.into());
    }

    fn answer(&mut self, connection: &Connection, request: Request) -> Response {
        match request.method.as_str() {
            CodeActionRequest::METHOD => {
                let params: lsp_types::CodeActionParams = match parse(&request) {
                    Ok(params) => params,
                    Err(response) => return response,
                };
                self.check_all_pending(connection);
                let actions = self
                    .context(&params.text_document.uri)
                    .map(|cx| {
                        actions::code_actions(&cx, params.range, params.context.only.as_deref())
                    })
                    .unwrap_or_default();
                Response::new_ok(request.id, actions)
            }
            HoverRequest::METHOD => {
                let params: lsp_types::HoverParams = match parse(&request) {
                    Ok(params) => params,
                    Err(response) => return response,
                };
                self.check_all_pending(connection);
                let at = params.text_document_position_params;
                let hover = self.context(&at.text_document.uri).and_then(|cx| {
                    let offset = cx.document.analyzer_offset(at.position, cx.encoding);
                    actions::hover(&cx, offset)
                });
                Response::new_ok(request.id, hover)
            }
            method => Response::new_err(
                request.id,
                ErrorCode::MethodNotFound as i32,
                format!("catga does not handle `{method}`"),
            ),
        }
    }

    fn context<'a>(&'a self, uri: &'a Url) -> Option<actions::Context<'a>> {
        let open = self.open.get(uri)?;
        Some(actions::Context {
            uri,
            path: &open.path,
            document: &open.document,
            diagnostics: &open.diagnostics,
            encoding: self.encoding,
            live: self.live.as_ref()?,
        })
    }

    fn on_notification(&mut self, connection: &Connection, notification: Notification) {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(
                    notification.params,
                ) else {
                    return;
                };
                let item = params.text_document;
                let path = file_path(&item.uri);
                self.open.insert(
                    item.uri.clone(),
                    Open {
                        document: Document::new(item.text, Some(item.version)),
                        path: path.clone(),
                        diagnostics: Vec::new(),
                    },
                );
                let unknown = self.live.as_ref().is_some_and(|live| !live.contains(&path));
                if unknown && path.is_file() && self.rediscovered.insert(path.clone()) {
                    // A file created since the workspace was discovered: discover it again.
                    self.reload(connection);
                } else {
                    self.check_now(connection, &item.uri);
                }
            }
            DidChangeTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(
                    notification.params,
                ) else {
                    return;
                };
                let uri = params.text_document.uri;
                if let Some(open) = self.open.get_mut(&uri) {
                    open.document.apply(
                        params.content_changes,
                        params.text_document.version,
                        self.encoding,
                    );
                    // The first edit after a pause is checked at once; edits that follow
                    // within DEBOUNCE of a check wait for the window's end, together.
                    let now = Instant::now();
                    let due = self
                        .last_check
                        .map_or(now, |last| (last + crate::DEBOUNCE).max(now));
                    self.pending.entry(uri).or_insert(due);
                }
            }
            DidSaveTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(
                    notification.params,
                ) else {
                    return;
                };
                let uri = params.text_document.uri;
                if is_config(&file_path(&uri)) {
                    self.reload(connection);
                } else if self.open.contains_key(&uri) {
                    self.pending.remove(&uri);
                    self.check_now(connection, &uri);
                }
            }
            DidCloseTextDocument::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(
                    notification.params,
                ) else {
                    return;
                };
                let uri = params.text_document.uri;
                self.pending.remove(&uri);
                if let Some(open) = self.open.remove(&uri) {
                    let changed = self
                        .live
                        .as_mut()
                        .map(|live| live.set_text(&open.path, None))
                        .unwrap_or_default();
                    publish_raw(connection, uri, Vec::new(), None);
                    self.publish_changed(connection, &changed, None);
                }
            }
            DidChangeWatchedFiles::METHOD => {
                let Ok(params) = serde_json::from_value::<lsp_types::DidChangeWatchedFilesParams>(
                    notification.params,
                ) else {
                    return;
                };
                self.on_files_changed(connection, params.changes);
            }
            _ => {}
        }
    }

    /// Files changed on disk: a configuration file reloads everything; a file created or
    /// deleted discovers the workspace again; a changed file that is not open is checked again.
    fn on_files_changed(&mut self, connection: &Connection, changes: Vec<lsp_types::FileEvent>) {
        let open: HashSet<PathBuf> = self.open.values().map(|open| open.path.clone()).collect();
        let mut reload = false;
        let mut changed_files = Vec::new();
        for change in changes {
            let path = file_path(&change.uri);
            if is_config(&path)
                || change.typ != FileChangeType::CHANGED
                || self.live.as_ref().is_some_and(|live| !live.contains(&path))
            {
                reload = true;
            } else if !open.contains(&path) {
                changed_files.push(path);
            }
        }
        if reload {
            self.reload(connection);
            return;
        }
        let Some(live) = self.live.as_mut() else {
            return;
        };
        let mut changed = Vec::new();
        for path in changed_files {
            changed.extend(live.set_text(&path, None));
        }
        self.publish_changed(connection, &changed, None);
    }

    /// Load (or load again) the configuration and every file, put the open buffers back, and
    /// publish every open document. A configuration that does not load is reported, and the
    /// workspace as it was stays.
    fn reload(&mut self, connection: &Connection) {
        let options = LintOptions {
            root: self.root.clone(),
            cache: true,
            ..LintOptions::default()
        };
        match LiveWorkspace::open(&options) {
            Ok(mut live) => {
                for open in self.open.values() {
                    live.set_text(&open.path, Some(open.document.text().to_string()));
                }
                self.live = Some(live);
                self.pending.clear();
                let uris: Vec<Url> = self.open.keys().cloned().collect();
                for uri in uris {
                    self.publish(connection, &uri);
                }
            }
            Err(error) => show(connection, MessageType::ERROR, format!("catga: {error}")),
        }
    }

    /// Check the documents whose debounce ran out by `now`.
    fn check_due(&mut self, connection: &Connection, now: Instant) {
        let due: Vec<Url> = self
            .pending
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(uri, _)| uri.clone())
            .collect();
        for uri in due {
            self.pending.remove(&uri);
            self.check_now(connection, &uri);
        }
        self.last_check = Some(Instant::now());
    }

    /// Check every changed document now (before answering about them).
    fn check_all_pending(&mut self, connection: &Connection) {
        let pending: Vec<Url> = self.pending.drain().map(|(uri, _)| uri).collect();
        for uri in pending {
            self.check_now(connection, &uri);
        }
    }

    /// Check one open document's buffer, publish it, and publish every other open document
    /// whose cross-file findings changed.
    fn check_now(&mut self, connection: &Connection, uri: &Url) {
        let (Some(open), Some(live)) = (self.open.get(uri), self.live.as_mut()) else {
            return;
        };
        let changed = live.set_text(&open.path, Some(open.document.text().to_string()));
        self.publish(connection, uri);
        self.publish_changed(connection, &changed, Some(uri));
    }

    /// Publish the open documents among `paths` (but `except`).
    fn publish_changed(
        &mut self,
        connection: &Connection,
        paths: &[PathBuf],
        except: Option<&Url>,
    ) {
        let uris: Vec<Url> = self
            .open
            .iter()
            .filter(|(uri, open)| Some(*uri) != except && paths.contains(&open.path))
            .map(|(uri, _)| uri.clone())
            .collect();
        for uri in uris {
            self.publish(connection, &uri);
        }
    }

    fn publish(&mut self, connection: &Connection, uri: &Url) {
        let (Some(open), Some(live)) = (self.open.get_mut(uri), self.live.as_ref()) else {
            return;
        };
        open.diagnostics = live.diagnostics(&open.path);
        let diagnostics = open
            .diagnostics
            .iter()
            .map(|diagnostic| convert::to_lsp(diagnostic, &open.document, self.encoding, live))
            .collect();
        publish_raw(connection, uri.clone(), diagnostics, open.document.version);
    }

    /// Ask the client to tell us when configuration or source files change on disk.
    fn register_watchers(&self, connection: &Connection) {
        if !self.watch_files {
            return;
        }
        let watchers = ["**/catga.toml", "**/Cargo.toml", "**/*.rs"]
            .into_iter()
            .map(|glob| lsp_types::FileSystemWatcher {
                glob_pattern: lsp_types::GlobPattern::String(glob.to_string()),
                kind: None,
            })
            .collect();
        let options = lsp_types::DidChangeWatchedFilesRegistrationOptions { watchers };
        let params = lsp_types::RegistrationParams {
            registrations: vec![lsp_types::Registration {
                id: "catga-watched-files".to_string(),
                method: DidChangeWatchedFiles::METHOD.to_string(),
                register_options: serde_json::to_value(options).ok(),
            }],
        };
        let request = Request::new(
            RequestId::from("catga-register-watchers".to_string()),
            RegisterCapability::METHOD.to_string(),
            params,
        );
        let _ = connection.sender.send(request.into());
    }
}

fn parse<T: serde::de::DeserializeOwned>(request: &Request) -> Result<T, Response> {
    serde_json::from_value(request.params.clone()).map_err(|error| {
        Response::new_err(
            request.id.clone(),
            ErrorCode::InvalidParams as i32,
            format!("invalid `{}` params: {error}", request.method),
        )
    })
}

/// The file a `file:` URI names, canonical when it exists (the workspace's paths are).
fn file_path(uri: &Url) -> PathBuf {
    let path = uri
        .to_file_path()
        .unwrap_or_else(|()| PathBuf::from(uri.path()));
    path.canonicalize().unwrap_or(path)
}

/// Whether a change to `path` changes the configuration (or which files there are).
fn is_config(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name == "catga.toml" || name == "Cargo.toml")
}

fn publish_raw(
    connection: &Connection,
    uri: Url,
    diagnostics: Vec<lsp_types::Diagnostic>,
    version: Option<i32>,
) {
    let params = PublishDiagnosticsParams {
        uri,
        diagnostics,
        version,
    };
    let _ = connection
        .sender
        .send(Notification::new(PublishDiagnostics::METHOD.to_string(), params).into());
}

fn show(connection: &Connection, typ: MessageType, message: String) {
    let _ = connection.sender.send(
        Notification::new(
            ShowMessage::METHOD.to_string(),
            ShowMessageParams { typ, message },
        )
        .into(),
    );
}
