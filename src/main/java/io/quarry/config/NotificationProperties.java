package io.quarry.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;

/**
 * The notification side: integration-event consumers and the email sender.
 *
 * @param duplicateWindow an event id seen again within this window is dropped
 * @param sentRetention sent mail older than this is deleted by the cleanup event
 * @param cleanupBatchSize rows deleted per statement by the cleanup
 * @param maxAttempts a mail is tried this many times at most (an attempt the SMTP server could not
 *     even be reached for does not count)
 * @param senderInterval how often the sender looks for pending mail
 * @param senderBatchSize mails claimed per sender run
 * @param retryBackoff wait after the first transient (4xx) failure of a mail, doubled after each
 *     further one
 * @param maxRetryBackoff longest wait between two tries of a transiently failing mail
 * @param unreachableRetry wait before trying again while the SMTP server cannot be reached
 * @param smtp the SMTP server mail is delivered to
 */
public record NotificationProperties(
    @NotNull Duration duplicateWindow,
    @NotNull Duration sentRetention,
    @Min(1) @Max(100_000) int cleanupBatchSize,
    @Min(1) @Max(100) int maxAttempts,
    @NotNull Duration senderInterval,
    @Min(1) @Max(1000) int senderBatchSize,
    @NotNull Duration retryBackoff,
    @NotNull Duration maxRetryBackoff,
    @NotNull Duration unreachableRetry,
    @NotNull @Valid Smtp smtp) {

  /**
   * SMTP server.
   *
   * @param host SMTP host
   * @param port SMTP port
   * @param username SMTP user (empty: no authentication)
   * @param password SMTP password
   * @param tls require STARTTLS with certificate verification
   * @param from sender address of every mail
   * @param timeout longest wait to connect and for each reply of the server
   */
  public record Smtp(
      @NotBlank String host,
      @Min(1) @Max(65535) int port,
      String username,
      String password,
      boolean tls,
      @NotBlank String from,
      @NotNull Duration timeout) {
    @Override
    public String toString() {
      return "Smtp[" + username + "@" + host + ":" + port + ", tls=" + tls + "]";
    }
  }
}
