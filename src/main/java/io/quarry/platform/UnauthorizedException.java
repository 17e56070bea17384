package io.quarry.platform;

/**
 * The platform API refused the user's access token (401) or its rights (403), or an error rule says
 * an answer means so (a body's "token invalid" code with 400). Permanent for that user until the
 * token is replaced: stop the user's chain, record the reason and alert.
 */
public final class UnauthorizedException extends PlatformException {

  private final int status;

  public UnauthorizedException(int status) {
    this("platform API", status);
  }

  public UnauthorizedException(String request, int status) {
    this(request, status, "");
  }

  /**
   * @param why the error rule that decided, e.g. {@code (error-rules[1]: unauthorized)}
   */
  public UnauthorizedException(String request, int status, String why) {
    super(
        request
            + " was refused with "
            + status
            + why
            + ": the user's access token is not accepted");
    this.status = status;
  }

  /** 401 (token invalid or expired), 403 (token lacks the rights), or what a rule matched. */
  public int status() {
    return status;
  }
}
