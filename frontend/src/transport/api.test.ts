import { describe, expect, it } from "vitest";
import { ApiError, apiErrorFromResponse, csrfTokenFrom, parseUser } from "./api";

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

describe("apiErrorFromResponse", () => {
  it("should keep the server's code and message", async () => {
    const error = await apiErrorFromResponse(
      json(400, { error: "invalid_credentials", message: "Wrong username or password." }),
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(400);
    expect(error.code).toBe("invalid_credentials");
    expect(error.message).toBe("Wrong username or password.");
    expect(error.retryAfter).toBeUndefined();
  });

  it("should read retry_after from the body, else the Retry-After header", async () => {
    const fromBody = await apiErrorFromResponse(
      json(429, { error: "throttled", message: "Slow down.", retry_after: 120.2 }, { "Retry-After": "5" }),
    );
    expect(fromBody.code).toBe("throttled");
    expect(fromBody.retryAfter).toBe(121);
    const fromHeader = await apiErrorFromResponse(
      json(429, { error: "throttled", message: "Slow down." }, { "Retry-After": "90" }),
    );
    expect(fromHeader.retryAfter).toBe(90);
  });

  it("should name an answer without PiPo's error shape by its status", async () => {
    const html = await apiErrorFromResponse(
      new Response("<h1>CSRF verification failed</h1>", { status: 403, statusText: "Forbidden" }),
    );
    expect(html.code).toBe("http_403");
    expect(html.status).toBe(403);
    expect(html.message).toBe("HTTP 403 Forbidden");
    const empty = await apiErrorFromResponse(new Response(null, { status: 502 }));
    expect(empty.code).toBe("http_502");
    const wrongShape = await apiErrorFromResponse(json(400, ["not", "an", "object"]));
    expect(wrongShape.code).toBe("http_400");
  });
});

describe("csrfTokenFrom", () => {
  it("should find the csrftoken cookie among others", () => {
    expect(csrfTokenFrom("sessionid=x; csrftoken=abc123; theme=dark")).toBe("abc123");
    expect(csrfTokenFrom("csrftoken=a%3Db")).toBe("a=b");
    expect(csrfTokenFrom("xcsrftoken=no")).toBe("");
    expect(csrfTokenFrom("")).toBe("");
  });
});

describe("parseUser", () => {
  it("should accept a well-formed user", () => {
    expect(parseUser({ username: "alice", email: "", role: "owner", state: "active" })).toStrictEqual({
      username: "alice",
      email: "",
      role: "owner",
      state: "active",
    });
  });

  it("should refuse an unknown role as a bad response", () => {
    expect(() => parseUser({ username: "alice", email: "", role: "root", state: "active" })).toThrow(
      ApiError,
    );
    try {
      parseUser({ username: "alice", role: "member" });
    } catch (error) {
      expect(error instanceof ApiError && error.code).toBe("bad_response");
    }
  });
});
