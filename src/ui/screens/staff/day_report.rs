//! Today's report, and its export as CSV.

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::Step;
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use crate::ui::screens::report;
use klubkasse_core::domain::DayReport;

#[derive(Debug, Clone)]
pub struct ReportPage {
    /// `None` while it loads.
    pub report: Option<DayReport>,
    pub date: NaiveDate,
}

impl ReportPage {
    pub fn new(date: NaiveDate) -> ReportPage {
        ReportPage { report: None, date }
    }

    pub(super) fn update(&mut self, action: Action) -> Step {
        match action {
            Action::ReportLoaded(report) => {
                self.report = Some(report);
                Step::Stay
            }
            Action::ExportReport => Step::Run(Effect::ExportReport(self.date)),
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        if let Some(report) = &self.report {
            report::draw(app, report, self.date, frame, area)
        }
    }
}
