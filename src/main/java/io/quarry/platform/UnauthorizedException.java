package io.quarry.platform;

/**
 * The platform API refused the user's access token (401) or its rights (403). Permanent for that
 * user until the token is replaced: stop the user's chain, record the reason and alert.
 */
public final class UnauthorizedException extends PlatformException {

  private final int status;

  public UnauthorizedException(int status) {
    this("platform API", status);
  }

  public UnauthorizedException(String request, int status) {
    super(request + " was refused with " + status + ": the user's access token is not accepted");
    this.status = status;
  }

  /** 401 (token invalid or expired) or 403 (token lacks the rights). */
  public int status() {
    return status;
  }
}
