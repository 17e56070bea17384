package io.quarry.platform;

/**
 * The platform API answered 2xx with a body that does not fit the configured shape: not JSON, no
 * items array, an item without its id, or a has-more flag that is not a boolean. Permanent: the
 * same request returns the same body, so dead-letter or park the message with this reason.
 */
public final class MalformedResponseException extends PlatformException {

  public MalformedResponseException(String message) {
    super(message);
  }
}
