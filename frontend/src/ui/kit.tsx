/**
 * Small building blocks shared by the pages: the app context, router links,
 * labelled fields, the error alert and a hook that runs a flow.
 */

import { type ComponentChildren, createContext, type TargetedEvent } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { type AppState, errorMessage } from "../state";

/** The running client's state, for every page. */
export const AppContext = createContext<AppState | null>(null);

/** The state provided by {@link AppContext}. */
export function useApp(): AppState {
  const state = useContext(AppContext);
  if (state === null) {
    throw new Error("PiPo: a page was rendered outside <AppContext.Provider>");
  }
  return state;
}

/** An in-app link: a real `<a href>` that moves with the router (modified clicks open normally). */
export function RouteLink({
  href,
  children,
  class: className,
}: {
  href: string;
  children: ComponentChildren;
  class?: string;
}) {
  const { router } = useApp();
  return (
    <a
      href={href}
      class={className ?? "link"}
      onClick={(event) => {
        if (
          event.defaultPrevented ||
          event.button !== 0 ||
          event.metaKey ||
          event.ctrlKey ||
          event.shiftKey ||
          event.altKey
        ) {
          return;
        }
        event.preventDefault();
        router.navigate(href);
      }}
    >
      {children}
    </a>
  );
}

/** An error sentence, announced by screen readers. Renders nothing without a message. */
export function Alert({ message }: { message: string | null }) {
  return message === null ? null : (
    <p class="alert" role="alert">
      {message}
    </p>
  );
}

/** A quiet success or progress line. */
export function Status({ message }: { message: string | null }) {
  return message === null ? null : (
    <p class="status-line" role="status">
      {message}
    </p>
  );
}

interface FieldProps {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly onValue: (value: string) => void;
  readonly type?: "text" | "email" | "password" | "number";
  readonly autoComplete?: string;
  readonly required?: boolean;
  /** A short note under the field, linked as its description. */
  readonly hint?: string;
  readonly mono?: boolean;
  readonly min?: number;
  readonly max?: number;
}

/** What every kind of {@link Field} input shares (Preact types `<input>` per `type`). */
function inputAttributes(props: FieldProps) {
  const plain = props.type === "password" || props.type === "email" || props.mono === true;
  return {
    id: props.id,
    name: props.id,
    class: props.mono ? "field__input field__input--mono" : "field__input",
    value: props.value,
    onInput: (event: TargetedEvent<HTMLInputElement>) => props.onValue(event.currentTarget.value),
    autoComplete: props.autoComplete,
    required: props.required,
    "aria-required": props.required ? ("true" as const) : undefined,
    "aria-describedby": props.hint === undefined ? undefined : `${props.id}-hint`,
    spellcheck: plain ? false : undefined,
    autoCapitalize: plain ? ("off" as const) : undefined,
  };
}

/** A labelled text input; the label's text is the input's accessible name. */
export function Field(props: FieldProps) {
  const hintId = `${props.id}-hint`;
  return (
    <div class="field">
      <label class="field__label" for={props.id}>
        {props.label}
      </label>
      {props.type === "password" ? (
        <input type="password" {...inputAttributes(props)} />
      ) : props.type === "email" ? (
        <input type="email" {...inputAttributes(props)} />
      ) : props.type === "number" ? (
        <input type="number" min={props.min} max={props.max} step={1} {...inputAttributes(props)} />
      ) : (
        <input type="text" {...inputAttributes(props)} />
      )}
      {props.hint === undefined ? null : (
        <p class="field__hint" id={hintId}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

/** A flow runner: `pending` while it runs, `error` (a sentence) when it failed. */
export function useAction(): {
  readonly pending: boolean;
  readonly error: string | null;
  setError(message: string | null): void;
  run(flow: () => Promise<void>): Promise<void>;
} {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  return {
    pending,
    error,
    setError,
    async run(flow: () => Promise<void>): Promise<void> {
      if (pending) {
        return;
      }
      setPending(true);
      setError(null);
      try {
        await flow();
      } catch (caught) {
        if (mounted.current) {
          setError(errorMessage(caught));
        }
      } finally {
        if (mounted.current) {
          setPending(false);
        }
      }
    },
  };
}

/** "Working…" beside a form's buttons while a flow runs (Argon2id takes a second). */
export function Busy({ pending, text = "Working…" }: { pending: boolean; text?: string }) {
  return pending ? (
    <span class="busy" aria-live="polite">
      <span class="busy__spinner" aria-hidden="true" />
      {text}
    </span>
  ) : null;
}

/** The page's card: a heading, then the content. */
export function Page({
  id,
  title,
  children,
  lead,
}: {
  id: string;
  title: string;
  lead?: ComponentChildren;
  children?: ComponentChildren;
}) {
  return (
    <section class="page" aria-labelledby={`${id}-title`}>
      <h2 class="page__title" id={`${id}-title`}>
        {title}
      </h2>
      {lead === undefined ? null : <div class="page__lead">{lead}</div>}
      {children}
    </section>
  );
}

/** A safety code: twelve symbols, each an emoji and its word, read in order. */
export function SafetyCode({
  symbols,
  label,
  compact = true,
}: {
  readonly symbols: readonly { readonly emoji: string; readonly name: string }[];
  readonly label?: string;
  readonly compact?: boolean;
}) {
  return (
    <ol class={compact ? "safety-code safety-code--compact" : "safety-code"} aria-label={label}>
      {symbols.map((symbol, index) => (
        <li class="safety-code__item" key={index}>
          <span class="safety-code__emoji" aria-hidden="true">
            {symbol.emoji}
          </span>
          <span class="safety-code__word">{symbol.name}</span>
        </li>
      ))}
    </ol>
  );
}
