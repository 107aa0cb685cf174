//! A ledger on a fresh PostgreSQL database per test, driven through its
//! router (`tower::ServiceExt::oneshot`) or a real socket.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use klubkasse_core::domain::{ChildId, Entry, EntryKind, Money, SaleLine};
use klubkasse_ledger::auth::{TokenRole, TokenSpec, create_token, revoke_token};
use klubkasse_ledger::db::people::{self, PersonRole, PersonSaved, PersonSpec};
use klubkasse_ledger::db::{Actor, clubs};
use klubkasse_ledger::portal::session;
use klubkasse_ledger::{self as ledger, AppState, MIGRATOR, Settings};
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

pub const CARD_A: &str = "04A1B2C3";
pub const CARD_A2: &str = "04A1B2C4";
pub const CARD_B: &str = "04B2C3D4";
/// The club [`Ledger::enrol`] enrols in; every test ledger has it.
pub const CLUB: &str = "Kastanjen";

pub fn server_url() -> String {
    std::env::var("KLUBKASSE_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "KLUBKASSE_TEST_DATABASE_URL is not set: the ledger's tests need a real PostgreSQL. \
             Run ./install.sh --test (it starts one on 127.0.0.1:55432 and sets the variable)."
        )
    })
}

pub struct Ledger {
    pub app: Router,
    pub pool: PgPool,
    pub admin: String,
    pub url: String,
    /// The clubs' time zone the ledger counts days in.
    pub time_zone: String,
}

/// An empty database of its own (no schema yet), so tests run in parallel:
/// its URL and a pool on it.
pub async fn fresh_database() -> (String, PgPool) {
    database_on(&server_url()).await
}

/// An empty database of its own on the PostgreSQL server at `server`.
pub async fn database_on(server: &str) -> (String, PgPool) {
    let admin_pool = sqlx::PgPool::connect(server).await.expect("connect");
    let name = format!("test_{}", Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin_pool)
        .await
        .expect("create database");
    admin_pool.close().await;
    let (base, _) = server.rsplit_once('/').expect("url has a database");
    let url = format!("{base}/{name}");
    let options = klubkasse_ledger::connect_options(&url).expect("a database URL");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect_with(options)
        .await
        .expect("connect to test database");
    (url, pool)
}

/// A fresh database of its own, migrated, with the club [`CLUB`] and an
/// admin token.
pub async fn ledger() -> Ledger {
    ledger_with(Settings::default()).await
}

pub async fn ledger_with(settings: Settings) -> Ledger {
    let (url, pool) = fresh_database().await;
    MIGRATOR.run(&pool).await.expect("migrate");
    clubs::add(&pool, &Actor::command_line(), CLUB)
        .await
        .expect("the club");
    ledger_on(url, pool, settings).await
}

/// A ledger on a database migrated (and perhaps filled) already, with a
/// new admin token: labelled `admin`, unless a reused database has one.
pub async fn ledger_on(url: String, pool: PgPool, settings: Settings) -> Ledger {
    let label = match sqlx::query_scalar("SELECT count(*) FROM tokens WHERE label = 'admin'")
        .fetch_one(&pool)
        .await
        .expect("tokens")
    {
        0_i64 => "admin".to_string(),
        _ => fresh_label(),
    };
    let admin = create_token(
        &pool,
        &Actor::command_line(),
        &spec(&label, TokenRole::Admin),
    )
    .await
    .expect("admin token")
    .token;
    Ledger {
        time_zone: settings.time_zone.clone(),
        app: ledger::router(AppState::new(pool.clone(), settings)),
        pool,
        admin,
        url,
    }
}

/// A form as `multipart/form-data`, the field `file` as a file
/// `children.csv`: the content type and the body.
pub fn multipart(form: &[(&str, &str)]) -> (String, Vec<u8>) {
    multipart_bytes(
        &form
            .iter()
            .map(|(k, v)| (*k, v.as_bytes()))
            .collect::<Vec<_>>(),
    )
}

/// [`multipart`] of fields given as bytes (a Windows-1252 file).
pub fn multipart_bytes(form: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "klubkasse-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in form {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        if *name == "file" {
            body.extend_from_slice(
                b"Content-Disposition: form-data; name=\"file\"; filename=\"children.csv\"\r\nContent-Type: text/csv\r\n\r\n",
            );
        } else {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Someone logged in to the portal, with a session as a login makes it:
/// the cookie's value and the session's CSRF token.
pub struct Visitor {
    pub cookie: String,
    pub csrf: String,
    /// The language chosen (the language cookie), if any: Danish else.
    pub lang: Option<&'static str>,
}

/// The broker people added with [`Ledger::person`] log in through.
pub const ISSUER: &str = "https://broker.test";

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// Every 4xx and 5xx answer has an ApiError body.
    pub fn error_code(&self) -> &str {
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no ApiError body in {} {}", self.status, self.text))
    }
}

/// A label no other token has.
pub fn fresh_label() -> String {
    format!("test-{}", Uuid::now_v7().simple())
}

/// A token of `role` for nothing in particular.
pub fn spec(label: &str, role: TokenRole) -> TokenSpec<'_> {
    TokenSpec {
        label,
        role,
        kiosk: None,
        children: &[],
        clubs: &[],
        lifetime: None,
    }
}

impl Ledger {
    /// The same ledger with the portal on, for pages driven through the
    /// router: the test payment provider, and no login broker (a session
    /// is made with [`Ledger::log_in`]; `/portal/login` finds no broker
    /// on the discard port).
    pub fn with_portal(self, settings: Settings) -> Ledger {
        self.with_portal_as(settings, |_| {})
    }

    /// [`Ledger::with_portal`], its [`Portal`] changed by `change` first
    /// (another broker, address or limits).
    ///
    /// [`Portal`]: klubkasse_ledger::portal::Portal
    pub fn with_portal_as(
        self,
        settings: Settings,
        change: impl FnOnce(&mut klubkasse_ledger::portal::Portal),
    ) -> Ledger {
        use klubkasse_ledger::portal::{Portal, oidc, payment::TestProvider};
        let test = TestProvider::default();
        let mut portal = Portal {
            oidc: oidc::Oidc::new(oidc::OidcConfig {
                issuer: "http://127.0.0.1:9".into(),
                client_id: "klubkasse-test".into(),
                client_secret: "test-secret".into(),
                redirect_url: "http://127.0.0.1/portal/callback".into(),
                stable_claim: None,
                cpr_claim: None,
                cpr_scope: None,
            })
            .expect("oidc config"),
            payments: std::sync::Arc::new(test.clone()),
            test_payments: Some(test),
            cpr_key: None,
            public_url: "http://127.0.0.1".into(),
            limits: Default::default(),
            login_starts: Default::default(),
            trusted_proxies: Vec::new(),
            // The tests read the outbox as a mail server would.
            mail_server: true,
        };
        change(&mut portal);
        let state = AppState::new(self.pool.clone(), settings).with_portal(portal);
        Ledger {
            app: ledger::router(state),
            ..self
        }
    }

    pub async fn token(
        &self,
        role: TokenRole,
        kiosk: Option<&str>,
        children: &[ChildId],
    ) -> String {
        let ids: Vec<Uuid> = children.iter().map(|c| c.0).collect();
        let label = fresh_label();
        let spec = TokenSpec {
            kiosk,
            children: &ids,
            ..spec(&label, role)
        };
        create_token(&self.pool, &Actor::command_line(), &spec)
            .await
            .expect("token")
            .token
    }

    /// Someone who may log in (through [`ISSUER`]), as
    /// `klubkasse-ledger person` adds them (`role` None: without `--role`).
    pub async fn person(
        &self,
        subject: &str,
        name: &str,
        role: Option<PersonRole>,
        children: &[ChildId],
    ) -> PersonSaved {
        self.person_at(ISSUER, subject, name, role, children).await
    }

    /// [`Ledger::person`] at another broker.
    pub async fn person_at(
        &self,
        issuer: &str,
        subject: &str,
        name: &str,
        role: Option<PersonRole>,
        children: &[ChildId],
    ) -> PersonSaved {
        let person = PersonSpec {
            issuer,
            subject,
            name,
            email: None,
            children,
            role,
        };
        people::add_person(&self.pool, &Actor::command_line(), &person)
            .await
            .expect("add person")
    }

    /// A session for this person, as the login makes one.
    pub async fn log_in(&self, person: Uuid) -> Visitor {
        let cookie = session::begin(&self.pool, person).await.expect("session");
        let csrf = sqlx::query_scalar("SELECT csrf FROM portal_sessions WHERE id_hash = $1")
            .bind(session::sha256(&cookie))
            .fetch_one(&self.pool)
            .await
            .expect("the session's CSRF token");
        Visitor {
            cookie,
            csrf,
            lang: None,
        }
    }

    /// A portal page: GET, or POST of a form (the fields as given: add
    /// `csrf` to send the visitor's token).
    pub async fn page(
        &self,
        method: Method,
        path: &str,
        visitor: Option<&Visitor>,
        form: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method.clone()).uri(path);
        if let Some(visitor) = visitor {
            let mut cookie = format!("{}={}", session::SESSION_COOKIE, visitor.cookie);
            if let Some(lang) = visitor.lang {
                cookie.push_str(&format!(
                    "; {}={lang}",
                    klubkasse_ledger::portal::layout::LANG_COOKIE
                ));
            }
            request = request.header("cookie", cookie);
        }
        let request = if method == Method::POST && form.iter().any(|(k, _)| *k == "file") {
            // A form with a file goes as a browser sends it.
            let (content_type, body) = multipart(form);
            request
                .header("content-type", content_type)
                .body(Body::from(body))
        } else if method == Method::POST {
            let body = serde_html_form::to_string(form).expect("a form");
            request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
        } else {
            request.body(Body::empty())
        }
        .expect("request");
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Answer {
            status,
            headers,
            body: Value::Null,
            text: String::from_utf8_lossy(&bytes).to_string(),
        }
    }

    /// A club of this name (enrol in it with [`Ledger::enrol_in`]).
    pub async fn club(&self, name: &str) {
        clubs::add(&self.pool, &Actor::command_line(), name)
            .await
            .expect("the club");
    }

    /// An office token for these clubs.
    pub async fn office_token(&self, clubs: &[&str]) -> String {
        let clubs: Vec<String> = clubs.iter().map(|c| c.to_string()).collect();
        let label = fresh_label();
        let spec = TokenSpec {
            clubs: &clubs,
            ..spec(&label, TokenRole::Office)
        };
        create_token(&self.pool, &Actor::command_line(), &spec)
            .await
            .expect("office token")
            .token
    }

    /// A token whose lifetime has run out.
    pub async fn expired_token(&self) -> String {
        let label = fresh_label();
        let spec = TokenSpec {
            lifetime: Some(chrono::TimeDelta::minutes(1)),
            ..spec(&label, TokenRole::Admin)
        };
        let made = create_token(&self.pool, &Actor::command_line(), &spec)
            .await
            .expect("token");
        // Lets the clock run: the token expired a second ago.
        sqlx::query("UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1")
            .bind(made.id)
            .execute(&self.pool)
            .await
            .expect("expire");
        made.token
    }

    pub async fn revoked_token(&self) -> String {
        let label = fresh_label();
        let made = create_token(
            &self.pool,
            &Actor::command_line(),
            &spec(&label, TokenRole::Admin),
        )
        .await
        .expect("token");
        revoke_token(&self.pool, &Actor::command_line(), &made.id.to_string())
            .await
            .expect("revoke");
        made.token
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let authorization = token.map(|token| format!("Bearer {token}"));
        self.with_authorization(method, path, authorization.as_deref(), body)
            .await
    }

    /// A request with this `Authorization` header, however it is written.
    pub async fn with_authorization(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let request = match body {
            Some((content_type, bytes)) => request
                .header("content-type", content_type)
                .body(Body::from(bytes)),
            None => request.body(Body::empty()),
        }
        .expect("request");
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let body = body.map(|b| ("application/json", serde_json::to_vec(&b).expect("json")));
        self.raw(method, path, token, body).await
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let admin = self.admin.clone();
        self.call(method, path, Some(&admin), body).await
    }

    /// A child of [`CLUB`], enrolled with the admin token.
    pub async fn enrol(&self, name: &str) -> ChildId {
        self.enrol_in(name, CLUB).await
    }

    pub async fn enrol_in(&self, name: &str, club: &str) -> ChildId {
        let answer = self
            .admin(
                Method::POST,
                "/api/v1/children",
                Some(json!({"name": name, "club": club})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        serde_json::from_value(answer.body["child"]["id"].clone()).expect("child id")
    }

    pub async fn hand_out(&self, child: ChildId, uid: &str) {
        let answer = self
            .admin(
                Method::POST,
                &format!("/api/v1/children/{child}/cards"),
                Some(json!({"uid": uid})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    }

    /// Today in the clubs' time zone, as the ledger's reports count days
    /// (not UTC's today: they differ for an hour or two every night).
    pub async fn today(&self) -> chrono::NaiveDate {
        sqlx::query_scalar("SELECT (now() AT TIME ZONE $1)::date")
            .bind(&self.time_zone)
            .fetch_one(&self.pool)
            .await
            .expect("today")
    }

    /// A child enrolled as `name`, with card `uid` handed out and
    /// `amount` deposited: where most tests start.
    pub async fn funded(&self, name: &str, uid: &str, amount: &str) -> ChildId {
        let child = self.enrol(name).await;
        self.hand_out(child, uid).await;
        assert_eq!(
            self.deposit(child, amount).await.status,
            StatusCode::CREATED
        );
        child
    }

    /// The id of the child's first card order (made at enrolment).
    pub async fn first_order(&self, child: ChildId) -> String {
        self.admin(Method::GET, &format!("/api/v1/children/{child}"), None)
            .await
            .body["orders"][0]["id"]
            .as_str()
            .expect("an order")
            .to_string()
    }

    pub async fn deposit(&self, child: ChildId, amount: &str) -> Answer {
        self.admin(
            Method::POST,
            &format!("/api/v1/children/{child}/deposits"),
            Some(json!({"amount": amount})),
        )
        .await
    }

    /// A child for each amount, with a card of its own and that amount on it.
    pub async fn children_with_cards(&self, kroner: &[&str]) -> Vec<(ChildId, String)> {
        let mut children = Vec::with_capacity(kroner.len());
        for (n, amount) in kroner.iter().enumerate() {
            let child = self.enrol(&format!("Barn {n}")).await;
            let card = format!("05{n:06X}");
            self.hand_out(child, &card).await;
            let answer = self.deposit(child, amount).await;
            assert!(answer.status.is_success(), "{}", answer.text);
            children.push((child, card));
        }
        children
    }

    pub async fn balance(&self, child: ChildId) -> Money {
        let answer = self
            .admin(Method::GET, &format!("/api/v1/children/{child}"), None)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        serde_json::from_value(answer.body["balance"].clone()).expect("balance")
    }

    /// The stored balance and the sum of the child's entries, from the database.
    pub async fn balance_and_sum(&self, child: ChildId) -> (Money, Money) {
        let stored: rust_decimal::Decimal =
            sqlx::query_scalar("SELECT balance FROM children WHERE id = $1")
                .bind(child.0)
                .fetch_one(&self.pool)
                .await
                .expect("balance");
        let sum = ledger::db::sum_of_entries(&self.pool, child)
            .await
            .expect("sum");
        (Money::parse(&stored.to_string()).expect("money"), sum)
    }

    /// A counter without labels from the ledger's `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let answer = self.admin(Method::GET, "/metrics", None).await;
        answer
            .text
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{}", answer.text))
    }

    pub async fn sale_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM entries WHERE kind = 'sale'")
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    pub async fn entry_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM entries")
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// The ledger's day report for one counter and kind: the count and the
    /// total, signed as entries move balances (sales are negative).
    pub async fn day_total(
        &self,
        day: chrono::NaiveDate,
        counter: &str,
        kind: &str,
    ) -> (i64, Money) {
        let answer = self
            .admin(
                Method::GET,
                &format!("/api/v1/reports/day?date={day}"),
                None,
            )
            .await;
        assert!(answer.status.is_success(), "{}", answer.text);
        let report: ledger::api::Report = serde_json::from_value(answer.body).expect("a report");
        report
            .rows
            .iter()
            .filter(|r| r.counter == counter && r.kind == kind)
            .fold((0, Money::ZERO), |(count, total), r| {
                (count + r.count, total + r.total)
            })
    }

    /// Everything that can change, as one value, to show nothing changed.
    pub async fn fingerprint(&self) -> String {
        sqlx::query_scalar(
            "SELECT concat_ws('|',
                (SELECT string_agg(id::text || balance::text || coalesce(note, '') || change_seq::text, ',' ORDER BY id) FROM children),
                (SELECT string_agg(uid || state, ',' ORDER BY uid) FROM cards),
                (SELECT string_agg(id::text, ',' ORDER BY id) FROM entries),
                (SELECT string_agg(id::text || status, ',' ORDER BY id) FROM card_orders))",
        )
        .fetch_one(&self.pool)
        .await
        .expect("fingerprint")
    }
}

pub fn sale(child: ChildId, card: &str, counter: &str, price_ore: i64, quantity: u32) -> Entry {
    Entry::sale(
        child,
        klubkasse_core::domain::CardUid::parse(card).expect("uid"),
        vec![SaleLine {
            name: "Toast".into(),
            category: "mad".into(),
            unit_price: Money::from_ore(price_ore),
            quantity,
        }],
        counter,
        chrono::Utc::now(),
    )
}

pub fn refund(of: &Entry) -> Entry {
    Entry::new(
        of.child,
        EntryKind::Refund { sale: of.id },
        -of.amount,
        &of.counter,
        chrono::Utc::now(),
    )
}

pub fn batch(entries: &[Entry]) -> Value {
    json!({ "entries": entries })
}

/// Every row of every table in the database, as PostgreSQL writes a row
/// as text (bytea as `\x` and hex), with its table: for the tests that
/// show a secret is stored nowhere.
pub async fn every_row(pool: &PgPool) -> Vec<(String, String)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name)
         FROM information_schema.tables
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
           AND table_type = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut rows = Vec::new();
    for table in tables {
        let these: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT t::text FROM {table} t"
        )))
        .fetch_all(pool)
        .await
        .expect("rows");
        rows.extend(these.into_iter().map(|row| (table.clone(), row)));
    }
    rows
}
