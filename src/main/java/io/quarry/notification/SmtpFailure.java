package io.quarry.notification;

import jakarta.mail.MessagingException;
import jakarta.mail.internet.AddressException;
import java.io.InterruptedIOException;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Map;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.eclipse.angus.mail.smtp.SMTPSenderFailedException;
import org.eclipse.angus.mail.util.MailConnectException;

/**
 * Why one SMTP delivery failed, read out of the exception JavaMail threw: the server's reply code
 * and text where it gave one (JavaMail hides them behind "Invalid Addresses" in a chain of nested
 * exceptions), and what that means for the mail.
 *
 * @param kind what happens to the mail
 * @param code the server's reply code, null when it gave none
 * @param reply the server's reply (or the error) as the operator should read it
 */
public record SmtpFailure(Kind kind, Integer code, String reply) {

  /** What a failure means for the mail; the names are the metric's and the table's labels. */
  public enum Kind {
    /** A 5xx reply or an address that cannot be written: trying again cannot help. */
    PERMANENT,
    /** A 4xx reply (or an error without a code): tried again later, counted as an attempt. */
    TRANSIENT,
    /** No connection or no answer: tried again later, not counted as an attempt. */
    UNREACHABLE;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Classifies what the SMTP endpoint threw; a null error is an unexplained transient failure. */
  public static SmtpFailure of(Throwable error) {
    if (error == null) {
      return new SmtpFailure(Kind.TRANSIENT, null, "unknown error");
    }
    Map<Throwable, Boolean> seen = new IdentityHashMap<>();
    Throwable unreachable = null;
    Throwable badAddress = null;
    for (Throwable t = error; t != null && seen.put(t, true) == null; t = next(t)) {
      Integer code = code(t);
      if (code != null) {
        return new SmtpFailure(kindOf(code), code, reply(t, code));
      }
      if (unreachable == null && isConnectionFailure(t)) {
        unreachable = t;
      }
      if (badAddress == null && t instanceof AddressException) {
        badAddress = t;
      }
    }
    if (unreachable != null) {
      return new SmtpFailure(Kind.UNREACHABLE, null, describe(unreachable, rootCause(unreachable)));
    }
    if (badAddress != null) {
      return new SmtpFailure(Kind.PERMANENT, null, describe(badAddress, null));
    }
    return new SmtpFailure(Kind.TRANSIENT, null, describe(error, null));
  }

  /** 5xx permanent, anything else that is a reply code (4xx) transient. */
  static Kind kindOf(int code) {
    return code >= 500 && code <= 599 ? Kind.PERMANENT : Kind.TRANSIENT;
  }

  /** The mail with this failure is never tried again on its own. */
  public boolean permanent() {
    return kind == Kind.PERMANENT;
  }

  private static Integer code(Throwable t) {
    int code;
    if (t instanceof SMTPAddressFailedException e) {
      code = e.getReturnCode();
    } else if (t instanceof SMTPSendFailedException e) {
      code = e.getReturnCode();
    } else if (t instanceof SMTPSenderFailedException e) {
      code = e.getReturnCode();
    } else {
      return null;
    }
    return code >= 400 && code <= 599 ? code : null;
  }

  /** The server's own words: JavaMail's message of these exceptions is the reply line. */
  private static String reply(Throwable t, int code) {
    String message = t.getMessage() == null ? "" : t.getMessage().strip();
    return message.startsWith(String.valueOf(code)) ? message : code + " " + message;
  }

  private static boolean isConnectionFailure(Throwable t) {
    return t instanceof MailConnectException
        || t instanceof SocketException // refused, reset, no route to host
        || t instanceof InterruptedIOException // connect or read timed out
        || t instanceof UnknownHostException;
  }

  private static String describe(Throwable outer, Throwable cause) {
    String text = outer.getClass().getSimpleName() + ": " + outer.getMessage();
    if (cause != null && cause != outer) {
      text += " (" + cause.getClass().getSimpleName() + ": " + cause.getMessage() + ")";
    }
    return text;
  }

  private static Throwable rootCause(Throwable t) {
    Map<Throwable, Boolean> seen = new IdentityHashMap<>();
    Throwable root = t;
    for (Throwable c = t; c != null && seen.put(c, true) == null; c = next(c)) {
      root = c;
    }
    return root;
  }

  private static Throwable next(Throwable t) {
    if (t instanceof MessagingException m && m.getNextException() != null) {
      return m.getNextException();
    }
    return t.getCause();
  }
}
