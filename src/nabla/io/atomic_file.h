// Writes a file so that readers see either the old or the new content, never a torn one:
// write to a temporary name in the same directory, fsync, rename over, fsync the directory.
#pragma once
#include <functional>
#include <string>

namespace nabla::io {

// `write` receives the open temporary file descriptor. Any failure removes the temporary file,
// leaves the destination untouched and throws nabla::Error naming the path.
void write_file_atomically(const std::string& path, const std::function<void(int fd)>& write);
// Writes all bytes or throws (handles short writes and EINTR).
void write_all(int fd, const void* data, size_t size, const std::string& path);

}  // namespace nabla::io
