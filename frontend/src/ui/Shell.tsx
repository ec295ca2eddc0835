import { type AppState, displayName, type ViewName } from "../state";
import { ConfirmPage, LoginPage, RecoverPage, SignupPage } from "./AuthPages";
import { AuditPage, ChainWarning, MembersPage } from "./ChainPages";
import { ConnectionIndicator } from "./ConnectionIndicator";
import { CryptoPanel } from "./CryptoPanel";
import { ChatPage } from "./chat/ChatPage";
import { HomePage } from "./HomePage";
import { AppContext } from "./kit";
import { RequestsPage } from "./RequestsPage";
import {
  LoadingPage,
  LockedPage,
  PendingApprovalPage,
  PendingEmailPage,
  RecoveryCodePage,
  RejectedPage,
} from "./StatusPages";
import { ThemeSwitch } from "./ThemeSwitch";

function View({ view }: { view: ViewName }) {
  switch (view) {
    case "loading":
      return <LoadingPage />;
    case "login":
      return <LoginPage />;
    case "signup":
      return <SignupPage />;
    case "recover":
      return <RecoverPage />;
    case "confirm":
      return <ConfirmPage />;
    case "app":
      return <HomePage />;
    case "members":
      return <MembersPage />;
    case "audit":
      return <AuditPage />;
    case "requests":
      return <RequestsPage />;
    case "rooms":
      return <ChatPage />;
    case "locked":
      return <LockedPage />;
    case "pending_approval":
      return <PendingApprovalPage />;
    case "pending_email":
      return <PendingEmailPage />;
    case "rejected":
      return <RejectedPage />;
    case "recovery-code":
      return <RecoveryCodePage />;
  }
}

/** The application frame: header with the tenant's name and the connection, then the current page. */
export function Shell({ state }: { state: AppState }) {
  const name = state.account.tenant.value?.name.trim() || displayName(state.config);
  const view = state.route.value.view;
  return (
    <AppContext.Provider value={state}>
      <div class={view === "rooms" ? "frame frame--wide" : "frame"}>
        <header class="frame__header">
          <div class="brand">
            <span class="brand__mark" aria-hidden="true">
              {name.slice(0, 1).toUpperCase()}
            </span>
            <h1 class="brand__name">{name}</h1>
          </div>
          <div class="frame__tools">
            <ConnectionIndicator connection={state.connection} />
            <ThemeSwitch />
          </div>
        </header>
        <ChainWarning />
        <main class="frame__main">
          {/* A key per view: each page starts with fresh form state. */}
          <View key={view} view={view} />
          <CryptoPanel crypto={state.crypto} />
        </main>
      </div>
    </AppContext.Provider>
  );
}
