package io.quarry.monitoring;

import org.apache.camel.Exchange;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.MDC;

/**
 * Puts the user, stream and run an exchange works for into the logging context ({@code userId},
 * {@code stream}, {@code runId}), beside Camel's own {@code camel.routeId} and {@code
 * camel.exchangeId} ({@code camel.main.use-mdc-logging}), and removes them when the exchange is
 * done, so a consumer thread never logs the previous message's user. The {@code json} profile
 * writes them as fields of every line.
 */
public final class LogContext {

  public static final String USER_ID = "userId";
  public static final String STREAM = "stream";
  public static final String RUN_ID = "runId";

  private LogContext() {}

  /** Sets the keys that are not null until {@code exchange} completes or fails. */
  public static void put(Exchange exchange, Object userId, String stream, Object runId) {
    set(USER_ID, userId);
    set(STREAM, stream);
    set(RUN_ID, runId);
    exchange
        .getExchangeExtension()
        .addOnCompletion(
            new SynchronizationAdapter() {
              @Override
              public void onDone(Exchange done) {
                MDC.remove(USER_ID);
                MDC.remove(STREAM);
                MDC.remove(RUN_ID);
              }
            });
  }

  private static void set(String key, Object value) {
    if (value != null) {
      MDC.put(key, value.toString());
    }
  }
}
