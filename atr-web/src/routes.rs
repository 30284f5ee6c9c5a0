//! The one route table of the server.

use std::sync::Arc;

use salvo::prelude::*;

use crate::pages;

/// What every handler may use.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub(crate) storage: Arc<atr_storage::Storage>,
}

/// Every route of the server.
pub(crate) fn router(app: App) -> Router {
    Router::new().hoop(InjectApp(app)).get(home)
}

/// Puts the [`App`] into every request's depot.
#[derive(Debug)]
struct InjectApp(App);

#[async_trait]
impl Handler for InjectApp {
    async fn handle(&self, _req: &mut Request, depot: &mut Depot, _res: &mut Response, _ctrl: &mut FlowCtrl) {
        depot.insert_typed(self.0.clone());
    }
}

/// The [`App`] of this request.
fn app(depot: &Depot) -> &App {
    depot.get_typed::<App>().expect("the InjectApp hoop runs before every handler")
}

#[handler]
async fn home(depot: &mut Depot, res: &mut Response) {
    let state_dir = app(depot).storage.layout().root().display().to_string();
    res.render(pages::Page(pages::home(&state_dir)));
}
