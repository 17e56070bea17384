package io.quarry.platform;

/**
 * The platform API failed in a way that usually passes: a 5xx or 408 answer, a connect or read
 * timeout, or a connection error. Redeliver with backoff, then dead-letter.
 */
public final class TransientPlatformException extends PlatformException {

  public TransientPlatformException(String message) {
    super(message);
  }

  public TransientPlatformException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public boolean transientFailure() {
    return true;
  }
}
