package io.quarry.notification;

import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.Header;
import org.springframework.stereotype.Component;

/** Records the outcome of one SMTP delivery attempt for the sender route. */
@Component
public class EmailDelivery {

  public static final String EMAIL_ID = "quarryEmailId";

  private final EmailRepository emails;

  public EmailDelivery(EmailRepository emails) {
    this.emails = emails;
  }

  public void sent(@Header(EMAIL_ID) long id) {
    emails.markSent(id);
  }

  public void failed(
      @Header(EMAIL_ID) long id, @ExchangeProperty(Exchange.EXCEPTION_CAUGHT) Exception error) {
    String reason =
        error == null
            ? "unknown error"
            : error.getClass().getSimpleName() + ": " + error.getMessage();
    emails.markFailed(id, reason);
  }
}
