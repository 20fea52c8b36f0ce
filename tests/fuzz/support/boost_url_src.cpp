// Boost.URL compiled into the fuzz build itself (header-only mode), like
// Boost.JSON: the @context parsers resolve context URLs with it.
#include <boost/url/src.hpp>
