use super::*;
use tempfile::TempDir;

const FILE: &str = "children.csv";

fn run(store: &Store, text: &str) -> Result<ImportSummary, ImportRunError> {
    import_children_csv(store, text, Path::new(FILE), "office", Utc::now())
}

fn uid(hex: &str) -> CardUid {
    CardUid::parse(hex).unwrap()
}

fn owner(store: &Store, hex: &str) -> (Child, klubkasse_core::domain::Card) {
    let card = store.card(&uid(hex)).unwrap().unwrap();
    (store.child(card.child).unwrap().unwrap(), card)
}

fn problems(text: &str) -> Vec<String> {
    let err = parse_children_csv(text, Path::new(FILE)).unwrap_err();
    err.problems()
        .iter()
        .map(|p| problem_line(Language::EN, FILE, p))
        .collect()
}

const GOOD: &str = "\
name,card_uid,opening_balance,daily_limit,blocked_categories,note,card_state
Freja Nielsen,04A1B2C3,250.00,,,,active
  Søren Ærø  ,04:11:22:33:44:55:66,\"42,50\",20,Slik; Sodavand |,Nøddeallergi,
Ida Jensen,04c3d4e5,,,,,blocked
";

#[test]
fn good_file_adds_children_cards_and_balances() {
    let tmp = TempDir::new().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let summary = run(&store, GOOD).unwrap();
    assert_eq!(summary.added, 3);
    assert_eq!(summary.message(Language::EN), "3 added, 0 updated");
    assert_eq!(summary.to_string(), "3 tilføjet, 0 ændret");

    let (freja, card) = owner(&store, "04A1B2C3");
    assert_eq!(freja.name, "Freja Nielsen");
    assert_eq!(card.state, CardState::Active);
    assert_eq!(store.balance(freja.id).unwrap(), Money::kroner(250));

    let (soren, _) = owner(&store, "04112233445566");
    assert_eq!(soren.name, "Søren Ærø");
    assert_eq!(store.balance(soren.id).unwrap(), Money::from_ore(4250));
    assert_eq!(soren.daily_limit, Some(Money::kroner(20)));
    assert_eq!(soren.blocked_categories, vec!["slik", "sodavand"]);
    assert_eq!(soren.note.as_deref(), Some("Nøddeallergi"));

    let (ida, card) = owner(&store, "04C3D4E5");
    assert_eq!(card.state, CardState::Blocked);
    assert_eq!(store.balance(ida.id).unwrap(), Money::ZERO);
    // Only the two opening balances are entries; a zero is no deposit.
    assert_eq!(store.all_entries().unwrap().len(), 2);
    assert!(store.balance_mismatches().unwrap().is_empty());
}

#[test]
fn semicolon_file_from_a_danish_spreadsheet() {
    let text = "\u{feff}Navn;Kort;Saldo;Dagsgrænse;Kortstatus\r\n\
                Alma;04E5F6A7;1.234,50;20,00;aktiv\r\n\
                Bo;04B2C3D4;\"116,00\";;spærret\r\n";
    let rows = parse_children_csv(text, Path::new(FILE)).unwrap();
    assert_eq!(rows[0].name, "Alma");
    assert_eq!(rows[0].opening_balance, Money::from_ore(123450));
    assert_eq!(rows[0].daily_limit, Some(Money::kroner(20)));
    assert_eq!(rows[0].card_state, Some(CardState::Active));
    assert_eq!(rows[1].opening_balance, Money::kroner(116));
    assert_eq!(rows[1].card_state, Some(CardState::Blocked));
    // A dot before three digits could be either; the problem is in the
    // language asked for, with the column as the file names it.
    let err =
        parse_children_csv("navn;kort;saldo\nAlma;04E5F6A7;1.500\n", Path::new(FILE)).unwrap_err();
    assert_eq!(
        err.message(Language::DA),
        "children.csv linje 2, kolonne saldo: «1.500» kan læses på to måder (tusinder eller decimaler): \
         skriv 1500 eller 1500,00 for 1500 kr., ellers højst to decimaler\nIntet blev importeret."
    );
}

#[test]
fn each_kind_of_mistake_names_line_and_column() {
    let header = "name,card_uid,opening_balance\n";
    let cases = [
        (
            "Freja,04A1B2C3,10\nBo,NOTAUID,5\n",
            "children.csv line 3, column card_uid: «NOTAUID» is not a card UID (4, 7 or 10 bytes in hex, e.g. 04A1B2C3)",
        ),
        (
            "Freja,04A1B2C3,10\nBo,04B2C3D4,5\nIda,04C3D4E5,12.0051\n",
            "children.csv line 4, column opening_balance: «12.0051» has more than two decimals (øre is the smallest unit)",
        ),
        (
            "  ,04A1B2C3,10\n",
            "children.csv line 2, column name: the name is empty",
        ),
        (
            "Freja,,10\n",
            "children.csv line 2, column card_uid: the card UID is empty",
        ),
        (
            "Freja,04A1B2C3,-5\n",
            "children.csv line 2, column opening_balance: «-5» is negative; it must be 0 or more",
        ),
        (
            "Freja,04A1B2C3,10\nBo,04 a1 b2 c3,5\n",
            "children.csv line 3, column card_uid: card 04A1B2C3 is on line 2 too (one card, one child)",
        ),
        (
            "Freja,04A1B2C3\n",
            "children.csv line 2: 2 fields, but the header has 3",
        ),
    ];
    for (body, expected) in cases {
        let text = format!("{header}{body}");
        assert_eq!(problems(&text), vec![expected.to_string()], "{body}");
        // Windows line ends give the same line numbers.
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(problems(&crlf), vec![expected.to_string()], "{body}");
        // The binary's path: nothing at all reaches the store.
        let tmp = TempDir::new().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        assert!(matches!(
            run(&store, &text),
            Err(ImportRunError::Invalid(_))
        ));
        assert!(store.children().unwrap().is_empty());
        assert!(store.cards().unwrap().is_empty());
        assert!(store.all_entries().unwrap().is_empty());
    }
}

#[test]
fn file_on_disk_latin1_and_control_characters() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    drop(Store::open(&data).unwrap());
    let import = |path: &Path| import_children_file(path, &data, false, "office", Utc::now());
    let path = tmp.path().join("children.csv");
    std::fs::write(&path, "name,card_uid\nS\u{f8}ren,04A1B2C3\n").unwrap();
    let summary = import(&path).unwrap();
    assert_eq!(summary.added, 1);
    // "Søren" saved by a Danish Excel in Windows-1252.
    std::fs::write(&path, b"navn;kort\nS\xf8ren \xc6r\xf8;04B2C3D4\n").unwrap();
    assert_eq!(import(&path).unwrap().added, 1);
    let missing = tmp.path().join("nope.csv");
    let err = import(&missing).unwrap_err();
    assert!(matches!(
        err,
        ImportRunError::Invalid(ImportError::CannotOpen { .. })
    ));
    assert_eq!(
        err.message(Language::DA),
        format!("{} findes ikke", missing.display())
    );
    let err = import(tmp.path()).unwrap_err();
    assert_eq!(
        err.message(Language::EN),
        format!(
            "{} is a folder; name the CSV file in it",
            tmp.path().display()
        )
    );
    let store = Store::open(&data).unwrap();
    assert_eq!(
        problems("name,card_uid\n\"Bo\nBo\",04B2C3D4\n"),
        vec!["children.csv line 2, column name: the name has a line break or tab in it"]
    );
    assert_eq!(store.children().unwrap().len(), 2);
    assert!(
        store
            .children()
            .unwrap()
            .iter()
            .any(|c| c.name == "Søren Ærø")
    );
}

#[test]
fn header_mistakes() {
    assert_eq!(
        problems("name,card_uid,colour\nFreja,04A1B2C3,5\n"),
        vec![
            "children.csv line 1, column colour: unknown column (the columns are name, card_uid, opening_balance, daily_limit, blocked_categories, note, card_state)"
        ]
    );
    let err = parse_children_csv("navn;kort;farve\n", Path::new(FILE)).unwrap_err();
    assert_eq!(
        err.message(Language::DA),
        "children.csv linje 1, kolonne farve: ukendt kolonne (kolonnerne er navn, kort, saldo, \
         dagsgrænse, spærrede_kategorier, note, kortstatus)\nIntet blev importeret."
    );
    assert_eq!(
        problems("name,note\nFreja,hi\n"),
        vec!["children.csv line 1, column card_uid: this column is required and missing"]
    );
    assert_eq!(
        problems("name,card_uid,Name\n"),
        vec!["children.csv line 1, column Name: the column is there twice"]
    );
    assert!(matches!(
        parse_children_csv(" \n", Path::new(FILE)),
        Err(ImportError::Empty { .. })
    ));
    // A header alone is a valid, empty file.
    assert_eq!(
        parse_children_csv("name,card_uid\n", Path::new(FILE)).unwrap(),
        vec![]
    );
}

#[test]
fn every_bad_row_is_listed_and_nothing_is_written() {
    let text = "name,card_uid,opening_balance,daily_limit,card_state\n\
                Freja,04A1B2C3,250,,active\n\
                ,04B2C3D4,tolv,-1,lost\n\
                Ida,04C3D4E5,80,,\n\
                Bo,04A1B2C3,1,,\n";
    let tmp = TempDir::new().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let err = run(&store, text).unwrap_err();
    let shown = err.message(Language::EN);
    assert_eq!(
        shown,
        "5 problems in children.csv; nothing was imported:\n  \
         children.csv line 3, column name: the name is empty\n  \
         children.csv line 3, column opening_balance: «tolv» is not an amount (write kroner like 12.50 or 1000.00)\n  \
         children.csv line 3, column daily_limit: «-1» is negative; it must be 0 or more\n  \
         children.csv line 3, column card_state: «lost» is not a card state (active or blocked)\n  \
         children.csv line 5, column card_uid: card 04A1B2C3 is on line 2 too (one card, one child)"
    );
    assert!(store.children().unwrap().is_empty());
    assert!(store.all_entries().unwrap().is_empty());
}

#[test]
fn reimport_updates_without_paying_in_again() {
    let tmp = TempDir::new().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    run(&store, GOOD).unwrap();
    let entries_before = store.all_entries().unwrap().len();

    // Freja's card now names "Freja N." (the card identifies), Søren's
    // row is as before, Ida's card is unblocked on purpose.
    let again = "\
name,card_uid,opening_balance,daily_limit,blocked_categories,note,card_state
Freja N.,04A1B2C3,250.00,30,,,
  Søren Ærø  ,04:11:22:33:44:55:66,0,20,Slik; Sodavand |,Nøddeallergi,
Ida Jensen,04c3d4e5,,,,,active
Bo Nyholm,04B2C3D4,15,,,,
";
    let summary = run(&store, again).unwrap();
    assert_eq!(
        (summary.added, summary.updated, summary.unchanged),
        (1, 2, 1)
    );
    assert_eq!(
        summary.message(Language::EN),
        "1 added, 2 updated, 1 unchanged; opening balance not paid in again for 1 already there:\n  \
         line 2: Freja N. (04A1B2C3), 250,00 kr."
    );
    let (freja, _) = owner(&store, "04A1B2C3");
    assert_eq!(freja.name, "Freja N.");
    assert_eq!(freja.daily_limit, Some(Money::kroner(30)));
    assert_eq!(store.balance(freja.id).unwrap(), Money::kroner(250));
    assert_eq!(owner(&store, "04C3D4E5").1.state, CardState::Active);
    assert_eq!(store.children().unwrap().len(), 4);
    // Only Bo's opening balance is new.
    assert_eq!(store.all_entries().unwrap().len(), entries_before + 1);
    assert!(store.balance_mismatches().unwrap().is_empty());
}

#[test]
fn columns_left_out_and_empty_state_keep_what_is_stored() {
    let tmp = TempDir::new().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    run(&store, GOOD).unwrap();
    // A bare roster must not wipe limits or unblock a lost card.
    let summary = run(
        &store,
        "name,card_uid,card_state\nSøren Ærø,04112233445566,\nIda Jensen,04C3D4E5,\n",
    )
    .unwrap();
    assert_eq!((summary.updated, summary.unchanged), (0, 2));
    let (soren, _) = owner(&store, "04112233445566");
    assert_eq!(soren.daily_limit, Some(Money::kroner(20)));
    assert_eq!(soren.blocked_categories, vec!["slik", "sodavand"]);
    assert_eq!(soren.note.as_deref(), Some("Nøddeallergi"));
    assert_eq!(owner(&store, "04C3D4E5").1.state, CardState::Blocked);
    // Present but empty clears.
    run(
        &store,
        "name,card_uid,daily_limit,note\nSøren Ærø,04112233445566,,\n",
    )
    .unwrap();
    let (soren, _) = owner(&store, "04112233445566");
    assert_eq!((soren.daily_limit, soren.note), (None, None));
}

#[test]
fn demo_seed_once() {
    let tmp = TempDir::new().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let summary = seed_demo(&store, Utc::now()).unwrap().unwrap();
    assert_eq!(summary.added, 8);
    assert_eq!(store.children().unwrap().len(), 8);

    // Every balance and state as the CSV says, read with the csv crate
    // independently of the importer.
    let mut reader = csv::Reader::from_reader(DEMO_CHILDREN_CSV.as_bytes());
    let mut blocked = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let (child, card) = owner(&store, &record[1]);
        assert_eq!(child.name, &record[0]);
        assert_eq!(
            store.balance(child.id).unwrap(),
            Money::parse(&record[2]).unwrap()
        );
        let state = if &record[6] == "blocked" {
            CardState::Blocked
        } else {
            CardState::Active
        };
        assert_eq!(card.state, state);
        blocked += usize::from(state == CardState::Blocked);
    }
    assert_eq!(blocked, 1);
    assert_eq!(owner(&store, "04C3D4E5").0.name, "Ida Jensen");
    assert_eq!(
        owner(&store, "04D4E5F6").0.daily_limit,
        Some(Money::kroner(20))
    );
    assert_eq!(owner(&store, "04E5F6A7").0.blocked_categories, vec!["slik"]);

    let entries = store.all_entries().unwrap().len();
    assert_eq!(seed_demo(&store, Utc::now()).unwrap(), None);
    assert_eq!(store.children().unwrap().len(), 8);
    assert_eq!(store.all_entries().unwrap().len(), entries);
    assert!(store.balance_mismatches().unwrap().is_empty());
}

#[test]
fn the_counters_columns_by_danish_and_english_names() {
    use klubkasse_core::sheet::known;
    for (label, column) in [
        ("Navn", NAME),
        ("Card UID", CARD_UID),
        ("Kortnummer", CARD_UID),
        ("Balance", OPENING_BALANCE),
        ("Dagsgrænse", DAILY_LIMIT),
        ("Spærrede kategorier", BLOCKED_CATEGORIES),
        ("Kortstatus", CARD_STATE),
        ("Bemærkning", NOTE),
    ] {
        assert_eq!(known(&COLUMNS, label), Some(column), "{label}");
    }
}
