package io.quarry.support;

/** Finds an exception of a given type anywhere in a cause chain. */
public final class Causes {

  private Causes() {}

  public static <T extends Throwable> T find(Throwable failure, Class<T> type) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }
}
