package io.quarry.platform;

/**
 * The platform API answered a status outside its contract (e.g. 400 for an unknown marker, 404 for
 * an unknown user, a 3xx redirect). Permanent: dead-letter or park the message.
 */
public final class UnexpectedStatusException extends PlatformException {

  private final int status;

  public UnexpectedStatusException(String request, int status) {
    super(request + " answered unexpected status " + status);
    this.status = status;
  }

  /**
   * An answer an error rule declares permanent.
   *
   * @param why the rule, e.g. {@code (error-rules[2]: permanent)}
   */
  public UnexpectedStatusException(String request, int status, String why) {
    super(request + " answered " + status + why);
    this.status = status;
  }

  public int status() {
    return status;
  }
}
