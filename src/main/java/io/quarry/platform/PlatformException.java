package io.quarry.platform;

/**
 * A page could not be fetched from the platform API. The subtype says what the miner should do:
 *
 * <ul>
 *   <li>{@link TransientPlatformException} (5xx, 408, read or connect timeout, connection error):
 *       the only {@linkplain #transientFailure() transient} failure; redeliver with backoff, then
 *       dead-letter.
 *   <li>{@link RateLimitedException} (429): not an error at all; publish the continuation again
 *       after {@link RateLimitedException#retryAfter()}, without consuming a redelivery attempt.
 *   <li>{@link UnauthorizedException} (401, 403): the user's token is invalid or lacks rights; stop
 *       that user's chain, record it and alert. Retrying cannot help.
 *   <li>{@link MalformedResponseException} (2xx whose body does not fit the configured shape) and
 *       {@link UnexpectedStatusException} (any other status, e.g. 400 or 404): permanent for this
 *       message; dead-letter or park it with the message as the reason.
 * </ul>
 *
 * <p>The statuses above are the default rule set; a stream's {@link ErrorRule}s, tried first, may
 * give any answer one of these meanings (a 400 whose body says "throttled" is a {@link
 * RateLimitedException}), or skip its page.
 *
 * <p>No message, field or cause of these exceptions contains the user's access token.
 */
public abstract sealed class PlatformException extends RuntimeException
    permits TransientPlatformException,
        RateLimitedException,
        UnauthorizedException,
        MalformedResponseException,
        UnexpectedStatusException {

  PlatformException(String message) {
    super(message);
  }

  PlatformException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Whether the same request may well succeed later (redelivery with backoff is worthwhile). */
  public boolean transientFailure() {
    return false;
  }
}
