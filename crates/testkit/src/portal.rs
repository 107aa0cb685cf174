//! The portal end to end: the ledger on a real socket with the portal on,
//! a real OpenID provider on loopback (oidc-provider-mock, a separate
//! implementation, so our client meets someone else's server), and
//! Debian's chromium driven through chromedriver.
//!
//! Over 400 lines: the processes (provider, chromedriver), the browser
//! helpers and the world a portal test starts from belong together.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use klubkasse_core::domain::ChildId;
use klubkasse_ledger::cpr::CprKey;
use klubkasse_ledger::db::people::{PersonRole, PersonSaved};
use klubkasse_ledger::db::{Actor, Movement, Scope};
use klubkasse_ledger::portal::Portal;
use klubkasse_ledger::portal::mail::{Sender, TestOutbox};
use klubkasse_ledger::portal::oidc::{Oidc, OidcConfig};
use klubkasse_ledger::portal::payment::TestProvider;
use klubkasse_ledger::{AppState, Settings};
use serde_json::json;

use crate::ledger::Ledger;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A child process that dies with the test, and everything it started
/// (chromedriver's chromium): it leads a process group of its own.
struct Process(Child);

impl Process {
    fn spawn(command: &mut Command) -> std::io::Result<Process> {
        use std::os::unix::process::CommandExt;
        command.process_group(0).spawn().map(Process)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn wait_for(url: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let port_open = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .and_then(|host| std::net::TcpStream::connect(host).ok())
            .is_some();
        if port_open {
            return;
        }
        assert!(Instant::now() < deadline, "{what} did not start at {url}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The OpenID provider on loopback.
pub struct Provider {
    pub issuer: String,
    _process: Process,
}

fn provider_command() -> PathBuf {
    if let Ok(path) = std::env::var("KLUBKASSE_OIDC_PROVIDER") {
        return PathBuf::from(path);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/klubkasse/oidc-venv/bin/oidc-provider-mock")
}

impl Provider {
    pub fn start() -> Provider {
        let command = provider_command();
        assert!(
            command.exists(),
            "{} is missing: the portal's tests need the OpenID provider. \
             Run ./install.sh --test (it installs it), or set KLUBKASSE_OIDC_PROVIDER.",
            command.display()
        );
        let port = free_port();
        let process = Process::spawn(
            Command::new(&command)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--require-nonce"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap_or_else(|e| panic!("could not start {}: {e}", command.display()));
        let issuer = format!("http://127.0.0.1:{port}");
        wait_for(&issuer, "the OpenID provider");
        Provider {
            issuer,
            _process: process,
        }
    }
}

/// The ledger with the portal on, on a real socket.
pub struct PortalServer {
    pub ledger: Ledger,
    pub url: String,
    pub provider: Provider,
    /// The mails the portal sent.
    pub outbox: TestOutbox,
}

impl PortalServer {
    pub async fn start() -> PortalServer {
        Self::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> PortalServer {
        Self::start_configured(settings, None, |_| {}).await
    }

    /// [`PortalServer::start_with`], its [`Portal`] changed by `change`
    /// first (another payment provider).
    pub async fn start_as(settings: Settings, change: impl FnOnce(&mut Portal)) -> PortalServer {
        Self::start_configured(settings, None, change).await
    }

    /// With CPR match on: the provider's [`CPR_CLAIM`], hashed with `key`.
    pub async fn start_with_cpr(key: CprKey) -> PortalServer {
        Self::start_configured(Settings::default(), Some(key), |_| {}).await
    }

    async fn start_configured(
        settings: Settings,
        cpr_key: Option<CprKey>,
        change: impl FnOnce(&mut Portal),
    ) -> PortalServer {
        let provider = Provider::start();
        let ledger = crate::ledger::ledger_with(settings.clone()).await;
        ledger.club(CLUB).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let test = TestProvider::default();
        let outbox = TestOutbox::default();
        let mut portal = Portal {
            oidc: Oidc::new(OidcConfig {
                issuer: provider.issuer.clone(),
                client_id: "klubkasse-test".into(),
                client_secret: "test-secret".into(),
                redirect_url: format!("{url}/portal/callback"),
                stable_claim: Some(STABLE_CLAIM.into()),
                cpr_claim: cpr_key.as_ref().map(|_| CPR_CLAIM.into()),
                cpr_scope: None,
            })
            .expect("oidc config"),
            payments: std::sync::Arc::new(test.clone()),
            test_payments: Some(test),
            cpr_key,
            public_url: url.clone(),
            limits: Default::default(),
            login_starts: Default::default(),
            trusted_proxies: Vec::new(),
            // The test outbox sends what is queued.
            mail_server: true,
        };
        change(&mut portal);
        let state = AppState::new(ledger.pool.clone(), settings).with_portal(portal);
        let sender = Sender {
            pool: ledger.pool.clone(),
            mailer: std::sync::Arc::new(outbox.clone()),
            portal_url: url.clone(),
            poll: std::time::Duration::from_millis(50),
            longest_pause: std::time::Duration::from_secs(1),
        };
        tokio::spawn(sender.run());
        let app = klubkasse_ledger::router(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        PortalServer {
            ledger,
            url,
            provider,
            outbox,
        }
    }

    /// A child enrolled at the office in [`CLUB`], with a parent who may
    /// log in as `subject`.
    pub async fn family(&self, child: &str, parent: &str, subject: &str) -> ChildId {
        self.family_in(child, CLUB, parent, subject).await
    }

    /// [`PortalServer::family`] in another club (add it first with
    /// [`Ledger::club`]).
    pub async fn family_in(&self, child: &str, club: &str, parent: &str, subject: &str) -> ChildId {
        let actor = Actor::command_line();
        let detail =
            klubkasse_ledger::db::enrol(&self.ledger.pool, &actor, &Scope::All, child, club)
                .await
                .expect("enrol");
        self.person(
            subject,
            parent,
            Some(PersonRole::Parent),
            &[detail.child.id],
        )
        .await;
        detail.child.id
    }

    /// Someone who may log in as `subject`, as `klubkasse-ledger person`
    /// adds them (`role` None: as `person` without `--role`).
    pub async fn person(
        &self,
        subject: &str,
        name: &str,
        role: Option<PersonRole>,
        children: &[ChildId],
    ) -> PersonSaved {
        self.ledger
            .person_at(&self.provider.issuer, subject, name, role, children)
            .await
    }
}

/// The claim the test portal reads as the MitID person id (as
/// Signaturgruppen's broker names it).
pub const STABLE_CLAIM: &str = "mitid.uuid";

/// The claim with the CPR number, with CPR match on (Signaturgruppen's name).
pub const CPR_CLAIM: &str = "dk.cpr";

/// The club [`PortalServer::family`] enrols in, and office staff work for.
pub const CLUB: &str = "Solsikken";

impl PortalServer {
    /// Office staff of [`CLUB`] who may log in as `subject`.
    pub async fn office(&self, subject: &str) {
        let clubs = [CLUB.to_string()].into_iter().collect();
        self.person(
            subject,
            "Kontoret Solsikken",
            Some(PersonRole::Office(clubs)),
            &[],
        )
        .await;
    }

    /// Municipality staff, who see every club, and may log in as `subject`.
    pub async fn municipality(&self, subject: &str) {
        self.person(
            subject,
            "Kommunens kontor",
            Some(PersonRole::Municipality),
            &[],
        )
        .await;
    }

    /// Cash paid in at the office.
    pub async fn deposit(&self, child: ChildId, kroner: i64) {
        let movement = Movement {
            deposit: true,
            amount: klubkasse_core::domain::Money::kroner(kroner),
            id: None,
            counter: "office",
            receipt: None,
        };
        klubkasse_ledger::db::money_entry(
            &self.ledger.pool,
            &Settings::default(),
            &Actor::command_line(),
            child,
            movement,
        )
        .await
        .expect("deposit");
    }
}

/// Debian's chromium, headless, with a profile of its own.
pub struct Browser {
    pub client: Client,
    _driver: Process,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Process::spawn(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect(
            "chromedriver could not start: run ./install.sh --test (it installs chromium-driver)",
        );
        let url = format!("http://127.0.0.1:{port}");
        wait_for(&url, "chromedriver");
        let profile = tempfile::TempDir::new().expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=430,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a chromium session");
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// The element, waited for; a missing one fails with the page shown.
    async fn element(&self, locator: Locator<'_>, what: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(locator)
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "no {what} on {}: {e}\n{}",
                self.url().await,
                self.text().await
            ),
        }
    }

    /// Clicks what `locator` finds, and waits for the page it leads to:
    /// every click here submits a form or follows a link, and the next
    /// step must not find its text on the page being left.
    async fn click_and_wait(&self, locator: Locator<'_>, what: &str) {
        let old = self.mark_page().await;
        for attempt in 0.. {
            let element = self.element(locator, what).await;
            match element.click().await {
                Ok(()) => break,
                // The page was still being replaced when it was found.
                Err(e) if attempt < 5 && e.to_string().contains("stale") => continue,
                Err(e) => panic!("could not click {what}: {e}"),
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.page_mark().await == Some(old) {
            assert!(
                Instant::now() < deadline,
                "clicking {what} led nowhere from {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Marks the page now shown; a new page has no mark.
    async fn mark_page(&self) -> u64 {
        let mark = rand::random::<u32>() as u64;
        self.client
            .execute("window.__klubkasse_page = arguments[0]", vec![json!(mark)])
            .await
            .expect("mark the page");
        mark
    }

    async fn page_mark(&self) -> Option<u64> {
        match self
            .client
            .execute("return window.__klubkasse_page || null", vec![])
            .await
        {
            Ok(value) => value.as_u64(),
            // Between pages: not the old one any more.
            Err(_) => None,
        }
    }

    pub async fn click(&self, css: &str) {
        self.click_and_wait(Locator::Css(css), css).await;
    }

    /// Clicks the button or link whose text is exactly this.
    pub async fn click_text(&self, text: &str) {
        let xpath = format!("//*[self::a or self::button][normalize-space(.)='{text}']");
        self.click_and_wait(Locator::XPath(&xpath), &format!("«{text}»"))
            .await;
    }

    /// Ticks (or unticks) a box: a click that stays on the page.
    pub async fn tick(&self, css: &str) {
        let element = self.element(Locator::Css(css), css).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("could not tick {css}: {e}"));
    }

    /// Chooses the file at `path` in the file input `css`.
    pub async fn upload(&self, css: &str, path: &std::path::Path) {
        let field = self.element(Locator::Css(css), css).await;
        field
            .send_keys(&path.display().to_string())
            .await
            .expect("choose the file");
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.element(Locator::Css(css), css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// The page's visible text (empty while a page is loading: asked in
    /// one script call, so no element can go stale under it).
    pub async fn text(&self) -> String {
        match self
            .client
            .execute(
                "return document.body ? document.body.innerText : ''",
                vec![],
            )
            .await
        {
            Ok(serde_json::Value::String(text)) => text,
            _ => String::new(),
        }
    }

    /// Waits until the page's text holds `wanted`; panics with the page.
    pub async fn wait_for_text(&self, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.text().await;
            if text.contains(wanted) {
                return;
            }
            if Instant::now() > deadline {
                panic!("«{wanted}» never showed on {}:\n{text}", self.url().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Logs in at the provider's form as `subject`.
    pub async fn log_in(&self, portal: &PortalServer, subject: &str) {
        self.goto(&format!("{}/portal", portal.url)).await;
        self.click("a[href='/portal/login']").await;
        self.fill("input[name=sub]", subject).await;
        self.click_text("Authorize").await;
    }

    /// Submits a form made up in the page, with this page's CSRF token: a
    /// forged request from a logged-in browser.
    pub async fn submit_form(&self, action: &str, fields: &[(&str, &str)]) {
        let fields: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        self.client
            .execute(
                "const [action, fields] = arguments;
                 const form = document.createElement('form');
                 form.method = 'post'; form.action = action;
                 const token = document.querySelector('input[name=csrf]').value;
                 for (const [name, value] of Object.entries({csrf: token, ...fields})) {
                     const input = document.createElement('input');
                     input.name = name; input.value = value; form.appendChild(input);
                 }
                 document.body.appendChild(form); form.submit();",
                vec![json!(action), json!(fields)],
            )
            .await
            .expect("submit a forged form");
    }

    /// What the browser gets from a path of the page's site, with its
    /// cookies (a download, read as text: UTF-8, a BOM dropped, as
    /// `fetch`'s `text()` reads it).
    pub async fn fetch_text(&self, path: &str) -> String {
        let (_, bytes) = self.get_with_cookies(path).await;
        let text = String::from_utf8_lossy(&bytes);
        text.strip_prefix('\u{feff}').unwrap_or(&text).to_string()
    }

    /// `path` of the current page's site, asked with the browser's
    /// cookies: the answer's headers and bytes. Not by `fetch` in the
    /// page: the portal's Content-Security-Policy lets a page connect
    /// nowhere, a script put in by the driver neither.
    async fn get_with_cookies(&self, path: &str) -> (axum::http::HeaderMap, Vec<u8>) {
        let url = self
            .client
            .current_url()
            .await
            .expect("the page's address")
            .join(path)
            .expect("an address on the page's site");
        let cookie = self
            .client
            .get_all_cookies()
            .await
            .expect("the browser's cookies")
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        let http =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<axum::body::Body>();
        let request = axum::http::Request::get(url.as_str())
            .header(axum::http::header::COOKIE, cookie)
            .body(axum::body::Body::empty())
            .expect("a request");
        let response = http.request(request).await.expect("the download");
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(axum::body::Body::new(response.into_body()), usize::MAX)
            .await
            .expect("the download's body");
        (headers, bytes.to_vec())
    }

    /// The cells of a table's body rows as the page shows them.
    pub async fn table_rows(&self, css: &str) -> Vec<Vec<String>> {
        let rows = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0] + ' tbody tr'))
                     .map(r => Array.from(r.cells).map(c => c.innerText.trim()))",
                vec![json!(css)],
            )
            .await
            .expect("read a table");
        serde_json::from_value(rows).expect("rows of cells")
    }

    /// A download as the browser gets it, with its cookies: the bytes as
    /// sent (a BOM too, which a text read would drop) and the headers.
    pub async fn download(&self, path: &str) -> Download {
        let (headers, bytes) = self.get_with_cookies(path).await;
        let header = |name: axum::http::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        Download {
            content_type: header(axum::http::header::CONTENT_TYPE),
            disposition: header(axum::http::header::CONTENT_DISPOSITION),
            bytes,
        }
    }

    /// Saves a screenshot as an artefact: target/portal-screenshots/NAME.png.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/portal-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

/// What [`Browser::download`] got.
#[derive(Debug)]
pub struct Download {
    pub content_type: String,
    pub disposition: String,
    pub bytes: Vec<u8>,
}

/// A page on another port of this machine: a site an attacker could run.
pub async fn serve_page(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A real mail server on loopback (aiosmtpd from PyPI, in the venv
/// beside the OpenID provider) that keeps what it receives in a maildir.
/// It can be stopped and started again on the same port, as a mail
/// server that is away for a while.
pub struct MailServer {
    pub port: u16,
    maildir: tempfile::TempDir,
    process: Option<Process>,
}

/// A mail as the server received it, decoded.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl MailServer {
    pub fn start() -> MailServer {
        let mut server = MailServer {
            port: free_port(),
            maildir: tempfile::tempdir().expect("a maildir"),
            process: None,
        };
        server.resume();
        server
    }

    /// The URL the ledger sends to (plain text: loopback only).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Away: connections are refused.
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// Back, on the same port, keeping what it received.
    pub fn resume(&mut self) {
        let command = provider_command().with_file_name("aiosmtpd");
        assert!(
            command.exists(),
            "{} is missing: the mail tests need aiosmtpd. Run ./install.sh --test (it installs it).",
            command.display()
        );
        let listen = format!("127.0.0.1:{}", self.port);
        let maildir = self.maildir.path().join("mail");
        self.process = Some(
            Process::spawn(
                Command::new(&command)
                    .args(["-n", "-l", &listen, "-c", "aiosmtpd.handlers.Mailbox"])
                    .arg(&maildir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )
            .unwrap_or_else(|e| panic!("could not start {}: {e}", command.display())),
        );
        wait_for(&format!("http://{listen}"), "the mail server");
    }

    /// Every mail received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let new = self.maildir.path().join("mail/new");
        let mut files: Vec<_> = std::fs::read_dir(&new)
            .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|path| {
                let raw = std::fs::read(path).expect("a mail file");
                let mail = mailparse::parse_mail(&raw).expect("a mail");
                let header = |name: &str| {
                    mail.headers
                        .iter()
                        .find(|h| h.get_key_ref().eq_ignore_ascii_case(name))
                        .map(|h| h.get_value())
                        .unwrap_or_default()
                };
                Received {
                    to: header("To"),
                    subject: header("Subject"),
                    body: mail.get_body().expect("a body"),
                }
            })
            .collect()
    }

    /// Waits until `count` mails have arrived (at most `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// localstripe (PyPI, pinned, in the venv beside the OpenID provider): a
/// stateful fake of Stripe's API that keeps PaymentIntents, charges test
/// cards and delivers webhooks signed as Stripe signs them.
pub struct LocalStripe {
    /// Its API's address, for `--stripe-api-url`.
    pub url: String,
    _process: Process,
}

impl LocalStripe {
    /// A secret key it takes (any `sk_…`).
    pub const SECRET_KEY: &'static str = "sk_test_klubkasse";
    /// What the tests sign webhooks with, and localstripe's when it is
    /// told to deliver them.
    pub const WEBHOOK_SECRET: &'static str = "whsec_klubkasse_test";

    /// The ledger's Stripe settings for this localstripe.
    pub fn config(&self) -> klubkasse_ledger::portal::stripe::StripeConfig {
        Self::config_at(&self.url)
    }

    /// [`LocalStripe::config`] for an address in front of it (a recorder).
    pub fn config_at(api_url: &str) -> klubkasse_ledger::portal::stripe::StripeConfig {
        klubkasse_ledger::portal::stripe::StripeConfig {
            api_url: api_url.to_string(),
            secret_key: Self::SECRET_KEY.into(),
            publishable_key: "pk_test_klubkasse".into(),
            webhook_secret: Self::WEBHOOK_SECRET.into(),
            payment_methods: vec!["card".into()],
        }
    }

    pub fn start() -> LocalStripe {
        let command = provider_command().with_file_name("localstripe");
        assert!(
            command.exists(),
            "{} is missing: the Stripe tests need localstripe. Run ./install.sh --test (it installs it).",
            command.display()
        );
        let port = free_port();
        // --from-scratch: not the state another test's localstripe saved.
        let process = Process::spawn(
            Command::new(&command)
                .args(["--port", &port.to_string(), "--from-scratch"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap_or_else(|e| panic!("could not start {}: {e}", command.display()));
        let url = format!("http://127.0.0.1:{port}");
        wait_for(&url, "localstripe");
        LocalStripe {
            url,
            _process: process,
        }
    }

    /// A call to its API with the secret key: a form POST, or a GET
    /// without one. Its JSON answer and status.
    pub async fn call(
        &self,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> (u16, serde_json::Value) {
        let http = reqwest::Client::new();
        let url = format!("{}{path}", self.url);
        let request = match form {
            Some(form) => http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_html_form::to_string(form).expect("a form")),
            None => http.get(&url),
        };
        let response = request
            .bearer_auth(Self::SECRET_KEY)
            .send()
            .await
            .expect("localstripe answers");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.expect("JSON from localstripe"),
        )
    }

    /// Has it deliver its webhooks to `url`, signed with `secret`.
    pub async fn deliver_webhooks_to(&self, url: &str, secret: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/_config/webhooks/klubkasse", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_html_form::to_string([("url", url), ("secret", secret)]).expect("a form"))
            .send()
            .await
            .expect("localstripe answers");
        assert!(response.status().is_success(), "{}", response.status());
    }
}
