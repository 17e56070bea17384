package io.quarry.notification;

import io.quarry.config.NotificationProperties;
import io.quarry.config.QuarryProperties;
import org.springframework.stereotype.Component;

/** The camel-mail SMTP endpoint URI, built from {@code quarry.notification.smtp}. */
@Component
public class MailEndpoint {

  private final String uri;

  public MailEndpoint(QuarryProperties properties) {
    NotificationProperties.Smtp smtp = properties.notification().smtp();
    StringBuilder builder =
        new StringBuilder("smtp://")
            .append(smtp.host())
            .append(':')
            .append(smtp.port())
            .append("?from=RAW(")
            .append(smtp.from())
            .append(")&connectionTimeout=")
            .append(smtp.timeout().toMillis())
            // a server that accepts the connection but never answers must fail like a closed one
            .append("&mail.smtp.timeout=")
            .append(smtp.timeout().toMillis());
    if (smtp.username() != null && !smtp.username().isBlank()) {
      builder
          .append("&username=RAW(")
          .append(smtp.username())
          .append(")&password=RAW(")
          .append(smtp.password())
          .append(')');
    }
    if (smtp.tls()) {
      builder
          .append("&mail.smtp.starttls.enable=true")
          .append("&mail.smtp.starttls.required=true")
          .append("&mail.smtp.ssl.checkserveridentity=true");
    }
    this.uri = builder.toString();
  }

  public String uri() {
    return uri;
  }

  @Override
  public String toString() {
    return "MailEndpoint[smtp]"; // the URI may carry a password
  }
}
